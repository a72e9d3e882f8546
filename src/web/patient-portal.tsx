// Being built (issue 8): replaced by the screen's own code in this session.
import type { Session } from './session.ts';
import { Page } from './ui.tsx';

export function PatientPortal(props: { session: Session }) {
  void props;
  return <Page title="PatientPortal">{null}</Page>;
}
