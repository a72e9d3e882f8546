/**
 * The web app's shell: a skip link, the header with the places this user may go, the page of the
 * current hash route, and sign-in / sign-out. Routes: `#/sign-in`, `#/patient` (patient portal),
 * `#/clinician` (clinician view), `#/privacy` (privacy officer), `#/explorer` (anyone).
 */
import { useEffect, useState } from 'preact/hooks';

import { ClinicianView } from './clinician-view.tsx';
import { Explorer } from './explorer.tsx';
import { PatientPortal } from './patient-portal.tsx';
import { PrivacyOfficer } from './privacy-officer.tsx';
import { type Session, loadSession, saveSession } from './session.ts';
import { SignIn } from './sign-in.tsx';

export type Route = 'sign-in' | 'patient' | 'clinician' | 'privacy' | 'explorer';

const routes: readonly Route[] = ['sign-in', 'patient', 'clinician', 'privacy', 'explorer'];

function routeOfHash(hash: string): Route | null {
  const name = hash.replace(/^#\/?/, '').split(/[/?]/)[0] ?? '';
  return (routes as readonly string[]).includes(name) ? (name as Route) : null;
}

/** Where a user lands after signing in. */
export function homeOf(session: Session | null): Route {
  if (session === null) return 'sign-in';
  if (session.user.kind === 'patient') return 'patient';
  return 'clinician';
}

export function navigate(route: Route): void {
  window.location.hash = `#/${route}`;
}

function isPrivacyOfficer(session: Session | null): boolean {
  return session?.user.roles.includes('privacy-officer') ?? false;
}

/** The places the header links to, for this user. */
function placesOf(session: Session | null): Array<{ route: Route; label: string }> {
  const places: Array<{ route: Route; label: string }> = [];
  if (session?.user.kind === 'patient') places.push({ route: 'patient', label: 'My records' });
  if (session?.user.kind === 'practitioner') places.push({ route: 'clinician', label: 'Patients' });
  if (isPrivacyOfficer(session)) places.push({ route: 'privacy', label: 'Privacy review' });
  places.push({ route: 'explorer', label: 'Network' });
  return places;
}

export function App() {
  const [session, setSession] = useState<Session | null>(loadSession());
  const [route, setRoute] = useState<Route>(routeOfHash(window.location.hash) ?? homeOf(session));

  useEffect(() => {
    // Only `#/…` hashes are routes; another one (an in-page anchor) leaves the page as it is.
    const onHash = () => {
      if (!window.location.hash.startsWith('#/')) return;
      setRoute(routeOfHash(window.location.hash) ?? homeOf(loadSession()));
    };
    window.addEventListener('hashchange', onHash);
    return () => window.removeEventListener('hashchange', onHash);
  }, []);

  const signIn = (next: Session) => {
    saveSession(next);
    setSession(next);
    navigate(homeOf(next));
  };
  const signOut = () => {
    saveSession(null);
    setSession(null);
    navigate('sign-in');
  };
  // A page that needs a kind of user sends the others to sign in.
  let page;
  if (route === 'explorer') page = <Explorer />;
  else if (route === 'patient' && session?.user.kind === 'patient')
    page = <PatientPortal session={session} />;
  else if (route === 'clinician' && session?.user.kind === 'practitioner')
    page = <ClinicianView session={session} onSession={signIn} />;
  else if (route === 'privacy' && session !== null && isPrivacyOfficer(session))
    page = <PrivacyOfficer session={session} />;
  else page = <SignIn onSignIn={signIn} current={session} />;

  return (
    <>
      <a
        class="skip-link"
        href="#main"
        onClick={(event) => {
          // Move focus to the content without touching the hash, which holds the route.
          event.preventDefault();
          document.getElementById('main')?.focus();
        }}
      >
        Skip to content
      </a>
      <header class="site-header">
        <a class="brand" href="#/">
          MedLedger
        </a>
        <nav aria-label="Main">
          <ul>
            {placesOf(session).map((place) => (
              <li key={place.route}>
                <a
                  href={`#/${place.route}`}
                  aria-current={route === place.route ? 'page' : undefined}
                >
                  {place.label}
                </a>
              </li>
            ))}
          </ul>
        </nav>
        <div class="who">
          {session === null ? (
            <a href="#/sign-in">Sign in</a>
          ) : (
            <>
              <span>
                {session.user.displayName}
                <span class="who-org"> · {session.user.orgId}</span>
              </span>
              <button type="button" class="link-button" onClick={signOut}>
                Sign out
              </button>
            </>
          )}
        </div>
      </header>
      <main id="main" tabIndex={-1}>
        {page}
      </main>
    </>
  );
}
