// Being built (issue 8): replaced by the screen's own code in this session.
import type { Session } from './session.ts';
import { Page } from './ui.tsx';

export function ClinicianView(props: { session: Session; onSession: (session: Session) => void }) {
  void props;
  return <Page title="ClinicianView">{null}</Page>;
}
