/**
 * A small chart of one value per block, drawn as inline SVG (no script, no style attribute: the
 * page's content security policy allows neither inline). It is one image to assistive
 * technology, named by its title and described by a summary sentence; the numbers themselves
 * are in the data table the explorer puts beside it.
 */

/** The drawing's size in SVG user units; it scales to the width of its box. */
const width = 320;
const height = 180;
const margin = { left: 44, right: 10, top: 12, bottom: 34 };
const plotWidth = width - margin.left - margin.right;
const plotHeight = height - margin.top - margin.bottom;

/** The smallest of 1, 2 or 5 times a power of ten that is at least `value` (and at least 1). */
export function niceCeiling(value: number): number {
  if (!(value > 1)) return 1;
  const power = 10 ** Math.floor(Math.log10(value));
  for (const step of [1, 2, 5, 10]) {
    if (step * power >= value) return step * power;
  }
  return 10 * power;
}

/** One point: the block's height and its value (null: no value, nothing drawn). */
export interface ChartPoint {
  readonly x: number;
  readonly y: number | null;
}

/** A column chart (`bars`) or a line chart (`line`) of one value per block height. */
export function BlockChart(props: {
  id: string;
  title: string;
  /** The text alternative: what the chart shows, in one or two sentences. */
  summary: string;
  kind: 'bars' | 'line';
  points: readonly ChartPoint[];
  /** What the y axis counts, after its numbers (`tx`, `ms`). */
  unit: string;
}) {
  const { id, points } = props;
  const values = points.map((point) => point.y).filter((y): y is number => y !== null);
  const top = niceCeiling(Math.max(0, ...values));
  const slots = Math.max(points.length, 1);
  const slot = plotWidth / slots;
  const xOf = (index: number) => margin.left + slot * index + slot / 2;
  const yOf = (value: number) => margin.top + plotHeight - (value / top) * plotHeight;
  const ticks = [0, top / 2, top];
  const label = (value: number) =>
    Number.isInteger(value) ? String(value) : value.toFixed(value < 10 ? 1 : 0);

  // A line is broken where a block has no value, rather than drawn across the gap.
  let path = '';
  let penDown = false;
  points.forEach((point, index) => {
    if (point.y === null) {
      penDown = false;
      return;
    }
    path += `${penDown ? 'L' : 'M'}${xOf(index).toFixed(1)} ${yOf(point.y).toFixed(1)} `;
    penDown = true;
  });

  const first = points[0];
  const last = points.at(-1);
  return (
    <svg
      class="explorer-chart"
      viewBox={`0 0 ${width} ${height}`}
      role="img"
      aria-labelledby={`${id}-title ${id}-desc`}
      focusable="false"
    >
      <title id={`${id}-title`}>{props.title}</title>
      <desc id={`${id}-desc`}>{props.summary}</desc>
      {ticks.map((tick) => (
        <g key={tick}>
          <line
            class="chart-grid"
            x1={margin.left}
            x2={width - margin.right}
            y1={yOf(tick)}
            y2={yOf(tick)}
          />
          <text class="chart-label" x={margin.left - 4} y={yOf(tick) + 3.5} text-anchor="end">
            {label(tick)}
          </text>
        </g>
      ))}
      <text
        class="chart-label"
        x={10}
        y={margin.top + plotHeight / 2}
        text-anchor="middle"
        transform={`rotate(-90 10 ${margin.top + plotHeight / 2})`}
      >
        {props.unit}
      </text>
      {props.kind === 'bars'
        ? points.map((point, index) =>
            point.y === null || point.y === 0 ? null : (
              <rect
                key={point.x}
                class="chart-bar"
                x={xOf(index) - Math.max(slot * 0.35, 0.5)}
                y={yOf(point.y)}
                width={Math.max(slot * 0.7, 1)}
                height={Math.max(margin.top + plotHeight - yOf(point.y), 0.5)}
              />
            ),
          )
        : [
            <path key="line" class="chart-line" d={path.trim()} />,
            ...points.map((point, index) =>
              point.y === null ? null : (
                <circle key={point.x} class="chart-dot" cx={xOf(index)} cy={yOf(point.y)} r={1.6} />
              ),
            ),
          ]}
      <line
        class="chart-axis"
        x1={margin.left}
        x2={width - margin.right}
        y1={margin.top + plotHeight}
        y2={margin.top + plotHeight}
      />
      {first === undefined ? null : (
        <text class="chart-label" x={margin.left} y={height - 20} text-anchor="start">
          {first.x}
        </text>
      )}
      {last === undefined || last === first ? null : (
        <text class="chart-label" x={width - margin.right} y={height - 20} text-anchor="end">
          {last.x}
        </text>
      )}
      <text class="chart-label" x={margin.left + plotWidth / 2} y={height - 6} text-anchor="middle">
        block height
      </text>
    </svg>
  );
}
