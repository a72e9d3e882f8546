/**
 * Sign-in for the demo's seeded users (decision 0075): pick a person, get a token from this node.
 * A user of another organisation is sent to their own node, whose web app signs them in.
 */
import { useState } from 'preact/hooks';

import { type Session, call } from './session.ts';
import type { DemoSignInAnswer, DemoSignInUser } from './types.ts';
import { Notice, Page, describeFailure, useLoad } from './ui.tsx';

function kindLabel(user: DemoSignInUser): string {
  if (user.kind === 'patient') return 'Patient';
  if (user.roles.includes('privacy-officer')) return 'Privacy officer';
  if (user.roles.includes('break-glass')) return 'Emergency clinician';
  return 'Clinician';
}

export function SignIn(props: { onSignIn: (session: Session) => void; current: Session | null }) {
  const users = useLoad(() => call<{ users: DemoSignInUser[] }>('/auth/demo/users'), []);
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState<string | null>(null);
  const here = window.location.origin;
  const local = (users.data?.users ?? []).filter((user) => user.url === here);

  const signIn = async (user: DemoSignInUser) => {
    setBusy(user.name);
    setError(null);
    try {
      const answer = await call<DemoSignInAnswer>('/auth/demo/sign-in', {
        method: 'POST',
        body: { name: user.name },
      });
      props.onSignIn({ ...answer, breakGlass: null });
    } catch (failure) {
      setError(describeFailure(failure));
    } finally {
      setBusy(null);
    }
  };

  return (
    <Page title="Sign in">
      <p>
        This is the demo network: choose a seeded person to sign in as. Every name is synthetic.
        People of other organisations sign in at their own organisation's node.
      </p>
      {props.current === null ? null : (
        <Notice kind="info">
          You are signed in as {props.current.user.displayName}. Choosing someone else signs you in
          as them.
        </Notice>
      )}
      {error === null ? null : <Notice kind="error">{error}</Notice>}
      {users.error === null ? null : (
        <Notice kind="error" title="No demo sign-in here">
          {users.error}
        </Notice>
      )}
      {users.loading ? <p>Loading the demo users…</p> : null}
      {['Clinician', 'Emergency clinician', 'Privacy officer', 'Patient'].map((kind) => {
        const group = local.filter((user) => kindLabel(user) === kind);
        if (group.length === 0) return null;
        return (
          <section
            key={kind}
            class="user-group"
            aria-labelledby={`group-${kind.replace(/ /g, '-')}`}
          >
            <h2 id={`group-${kind.replace(/ /g, '-')}`}>{kind}s</h2>
            <ul class="user-list">
              {group.map((user) => (
                <li key={user.name}>
                  <button
                    type="button"
                    class="user-button"
                    disabled={busy !== null}
                    onClick={() => void signIn(user)}
                    data-user={user.name}
                  >
                    <span class="user-name">{user.displayName}</span>
                    <span class="user-detail">{user.name}</span>
                  </button>
                </li>
              ))}
            </ul>
          </section>
        );
      })}
      {users.data !== undefined && local.length === 0 ? (
        <Notice kind="warning">
          No seeded users sign in at this node yet (the demo seeds them a few seconds after it
          starts). Reload in a moment.
        </Notice>
      ) : null}
    </Page>
  );
}
