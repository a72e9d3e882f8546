/**
 * Writing in a patient's record, for patients of the clinician's own organisation (the custodian
 * writes; decision 0056): a vital sign as an Observation (LOINC code, value, UCUM unit) and a
 * clinical note as a DocumentReference with its text as a `text/plain` attachment, the shape the
 * FHIR layer validates and the demo's records use. The node answers once the new version is
 * anchored on chain; a refusal (an OperationOutcome) is shown beside the form.
 *
 * Test hooks (accessible names first; `data-testid` where a name is not enough):
 * - observation form: form "Record a vital sign" — `data-testid="observation-form"`; fields
 *   "Vital sign", "Value", "Taken at"; button "Save vital sign"; its error `role=alert` —
 *   `data-testid="observation-error"`; its success `role=status` — `data-testid="observation-saved"`
 * - note form: form "Write a note" — `data-testid="note-form"`; fields "Kind of note", "Note",
 *   "Sensitive content"; button "Save note"; `data-testid="note-error"` / `data-testid="note-saved"`
 */
import type { DocumentReference, Observation, Resource } from '@medplum/fhirtypes';
import { useState } from 'preact/hooks';

import { CodeSystem, noteSensitivities, noteTypes, vitalSigns } from './clinician-codes.ts';
import { base64OfText } from './clinician-fhir.ts';
import { type Session, call } from './session.ts';
import { describeFailure } from './ui.tsx';

/** Longest note, in characters. */
const noteCharsMax = 4000;

/** `YYYY-MM-DDTHH:MM` of now in the reader's time zone, for a `datetime-local` input. */
function localNow(): string {
  const now = new Date();
  now.setMinutes(now.getMinutes() - now.getTimezoneOffset());
  return now.toISOString().slice(0, 16);
}

/** The outcome of a save: what the node said, for the form's message. */
type SaveState =
  | { state: 'idle' }
  | { state: 'saving' }
  | { state: 'saved'; message: string }
  | { state: 'failed'; message: string };

function SaveMessage(props: { save: SaveState; prefix: string }) {
  if (props.save.state === 'failed') {
    return (
      <div class="notice notice-error" role="alert" data-testid={`${props.prefix}-error`}>
        <strong class="notice-title">Not saved</strong>
        {props.save.message}
      </div>
    );
  }
  return (
    <div
      role="status"
      data-testid={props.save.state === 'saved' ? `${props.prefix}-saved` : undefined}
    >
      {props.save.state === 'saved' ? (
        <div class="notice notice-success">{props.save.message}</div>
      ) : null}
    </div>
  );
}

function savedText(what: string, resource: Resource): string {
  const version = resource.meta?.versionId;
  return `${what} saved and anchored on the ledger${version === undefined ? '' : ` (version ${version})`}.`;
}

/** The vital sign form. */
export function ObservationForm(props: {
  session: Session;
  patientId: string;
  onSaved: () => void;
}) {
  const [code, setCode] = useState(vitalSigns[0]!.code);
  const [value, setValue] = useState('');
  const [takenAt, setTakenAt] = useState(localNow());
  const [fieldError, setFieldError] = useState<string | null>(null);
  const [save, setSave] = useState<SaveState>({ state: 'idle' });
  const vital = vitalSigns.find((candidate) => candidate.code === code) ?? vitalSigns[0]!;

  const submit = async (event: Event) => {
    event.preventDefault();
    const number = Number(value);
    if (value.trim() === '' || !Number.isFinite(number)) {
      setFieldError(`Enter the ${vital.display.toLowerCase()} as a number.`);
      return;
    }
    if (number < vital.min || number > vital.max) {
      setFieldError(
        `Expected ${vital.min} to ${vital.max} ${vital.unitLabel}, found ${number}. Check the value.`,
      );
      return;
    }
    const when = new Date(takenAt);
    if (Number.isNaN(when.getTime())) {
      setFieldError('Enter when it was taken.');
      return;
    }
    setFieldError(null);
    setSave({ state: 'saving' });
    const observation: Observation = {
      resourceType: 'Observation',
      status: 'final',
      category: [
        {
          coding: [
            { system: CodeSystem.observationCategory, code: 'vital-signs', display: 'Vital Signs' },
          ],
        },
      ],
      code: {
        coding: [{ system: CodeSystem.loinc, code: vital.code, display: vital.display }],
        text: vital.display,
      },
      subject: { reference: `Patient/${props.patientId}` },
      effectiveDateTime: when.toISOString(),
      valueQuantity: { value: number, unit: vital.unit, system: CodeSystem.ucum, code: vital.unit },
    };
    try {
      const stored = await call<Observation>('/fhir/Observation', {
        session: props.session,
        method: 'POST',
        body: observation,
      });
      setSave({
        state: 'saved',
        message: savedText(`${vital.display} ${number} ${vital.unitLabel}`, stored),
      });
      setValue('');
      props.onSaved();
    } catch (failure) {
      setSave({ state: 'failed', message: describeFailure(failure) });
    }
  };

  return (
    <form
      class="write-form"
      aria-labelledby="observation-form-title"
      data-testid="observation-form"
      noValidate
      onSubmit={(event) => void submit(event)}
    >
      <h4 id="observation-form-title">Record a vital sign</h4>
      <label for="observation-code">Vital sign</label>
      <select
        id="observation-code"
        value={code}
        onChange={(event) => {
          setCode((event.target as HTMLSelectElement).value);
          setFieldError(null);
        }}
      >
        {vitalSigns.map((candidate) => (
          <option key={candidate.code} value={candidate.code}>
            {candidate.display} (LOINC {candidate.code})
          </option>
        ))}
      </select>
      <label for="observation-value">Value</label>
      <div class="with-unit">
        <input
          id="observation-value"
          type="number"
          inputMode="decimal"
          step={vital.step}
          min={vital.min}
          max={vital.max}
          required
          value={value}
          aria-invalid={fieldError === null ? undefined : 'true'}
          aria-describedby={`observation-unit${fieldError === null ? '' : ' observation-field-error'}`}
          onInput={(event) => {
            setValue((event.target as HTMLInputElement).value);
            setFieldError(null);
          }}
        />
        <span id="observation-unit" class="unit">
          {vital.unitLabel}
        </span>
      </div>
      {fieldError === null ? null : (
        <p id="observation-field-error" class="field-error">
          {fieldError}
        </p>
      )}
      <label for="observation-time">Taken at</label>
      <input
        id="observation-time"
        type="datetime-local"
        required
        value={takenAt}
        onInput={(event) => setTakenAt((event.target as HTMLInputElement).value)}
      />
      <SaveMessage save={save} prefix="observation" />
      <div class="actions">
        <button type="submit" disabled={save.state === 'saving'}>
          {save.state === 'saving' ? 'Saving…' : 'Save vital sign'}
        </button>
      </div>
    </form>
  );
}

/** The clinical note form. */
export function NoteForm(props: { session: Session; patientId: string; onSaved: () => void }) {
  const [type, setType] = useState(noteTypes[0]!.code);
  const [text, setText] = useState('');
  const [sensitivity, setSensitivity] = useState('');
  const [fieldError, setFieldError] = useState<string | null>(null);
  const [save, setSave] = useState<SaveState>({ state: 'idle' });
  const noteType = noteTypes.find((candidate) => candidate.code === type) ?? noteTypes[0]!;

  const submit = async (event: Event) => {
    event.preventDefault();
    const body = text.trim();
    if (body.length === 0) {
      setFieldError('Write the note before saving it.');
      return;
    }
    setFieldError(null);
    setSave({ state: 'saving' });
    const note: DocumentReference = {
      resourceType: 'DocumentReference',
      status: 'current',
      docStatus: 'final',
      type: {
        coding: [{ system: CodeSystem.loinc, code: noteType.code, display: noteType.display }],
        text: noteType.display,
      },
      subject: { reference: `Patient/${props.patientId}` },
      date: new Date().toISOString(),
      author: [{ display: props.session.user.displayName }],
      content: [
        {
          attachment: {
            contentType: 'text/plain',
            language: 'en',
            data: base64OfText(body),
            title: noteType.display,
          },
        },
      ],
      ...(sensitivity === ''
        ? {}
        : {
            meta: {
              security: [
                { system: CodeSystem.confidentiality, code: 'R' },
                { system: CodeSystem.actCode, code: sensitivity },
              ],
            },
          }),
    };
    try {
      const stored = await call<DocumentReference>('/fhir/DocumentReference', {
        session: props.session,
        method: 'POST',
        body: note,
      });
      setSave({ state: 'saved', message: savedText(noteType.display, stored) });
      setText('');
      props.onSaved();
    } catch (failure) {
      setSave({ state: 'failed', message: describeFailure(failure) });
    }
  };

  return (
    <form
      class="write-form"
      aria-labelledby="note-form-title"
      data-testid="note-form"
      noValidate
      onSubmit={(event) => void submit(event)}
    >
      <h4 id="note-form-title">Write a note</h4>
      <label for="note-type">Kind of note</label>
      <select
        id="note-type"
        value={type}
        onChange={(event) => setType((event.target as HTMLSelectElement).value)}
      >
        {noteTypes.map((candidate) => (
          <option key={candidate.code} value={candidate.code}>
            {candidate.display}
          </option>
        ))}
      </select>
      <label for="note-text">Note</label>
      <textarea
        id="note-text"
        rows={5}
        maxLength={noteCharsMax}
        required
        value={text}
        aria-invalid={fieldError === null ? undefined : 'true'}
        aria-describedby={
          fieldError === null ? 'note-text-hint' : 'note-text-hint note-field-error'
        }
        onInput={(event) => {
          setText((event.target as HTMLTextAreaElement).value);
          setFieldError(null);
        }}
      />
      <p id="note-text-hint" class="hint">
        Stored encrypted at your organisation; the ledger keeps only its salted hash.
      </p>
      {fieldError === null ? null : (
        <p id="note-field-error" class="field-error">
          {fieldError}
        </p>
      )}
      <label for="note-sensitivity">Sensitive content</label>
      <select
        id="note-sensitivity"
        value={sensitivity}
        aria-describedby="note-sensitivity-hint"
        onChange={(event) => setSensitivity((event.target as HTMLSelectElement).value)}
      >
        <option value="">None</option>
        {noteSensitivities.map((candidate) => (
          <option key={candidate.code} value={candidate.code}>
            {candidate.display} ({candidate.code})
          </option>
        ))}
      </select>
      <p id="note-sensitivity-hint" class="hint">
        A sensitive note is shared only under a consent that names its label.
      </p>
      <SaveMessage save={save} prefix="note" />
      <div class="actions">
        <button type="submit" disabled={save.state === 'saving'}>
          {save.state === 'saving' ? 'Saving…' : 'Save note'}
        </button>
      </div>
    </form>
  );
}
