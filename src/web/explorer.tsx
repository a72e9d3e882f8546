// Being built (issue 8): replaced by the screen's own code in this session.
import { Page } from './ui.tsx';

export function Explorer() {
  return <Page title="Explorer">{null}</Page>;
}
