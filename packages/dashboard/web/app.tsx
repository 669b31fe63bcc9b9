import type { TokenBody } from "@drover/http/wire";
import { useEffect, useRef, useState } from "preact/hooks";
import type { Access } from "./access.js";
import { accessOf } from "./access.js";
import { Alerts } from "./alerts.js";
import { ApiError, api, onUnauthorized, session } from "./api.js";
import { EntityList } from "./entities.js";
import { EntityPage } from "./entity.js";
import { useLiveTick } from "./hooks.js";
import { live } from "./live.js";
import { OutboxView } from "./outbox.js";
import { Overview } from "./overview.js";
import type { Route } from "./router.js";
import { to, useRoute } from "./router.js";
import { TimersView } from "./timers.js";

/** The whole page: the sign-in form until a token works, then the dashboard. */
export function App() {
  const [access, setAccess] = useState<Access | null>(null);
  const [checking, setChecking] = useState(() => session.token() !== null);

  useEffect(() => {
    // A token kept from earlier in this tab's session: check it is still good.
    if (session.token() === null) return;
    api<TokenBody>("/v1/token").then(
      (info) => {
        setAccess(accessOf(info));
        setChecking(false);
      },
      () => {
        session.clear();
        setChecking(false);
      },
    );
  }, []);

  useEffect(() => {
    if (access === null) return;
    live.start();
    const stop = onUnauthorized(() => {
      session.clear();
      setAccess(null);
    });
    return () => {
      stop();
      live.stop();
    };
  }, [access]);

  if (checking) return <p class="center">Checking the token…</p>;
  if (access === null) return <SignIn onSignedIn={setAccess} />;
  return (
    <Shell
      access={access}
      onSignOut={() => {
        session.clear();
        setAccess(null);
      }}
    />
  );
}

function SignIn({ onSignedIn }: { onSignedIn: (access: Access) => void }) {
  const [token, setToken] = useState("");
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const submit = async (event: Event) => {
    event.preventDefault();
    setBusy(true);
    setError(null);
    try {
      const info = await api<TokenBody>("/v1/token", { token: token.trim() });
      session.save(token.trim());
      onSignedIn(accessOf(info));
    } catch (failure) {
      setError(
        failure instanceof ApiError && failure.status === 401
          ? "That token is not valid."
          : `Could not check the token: ${failure instanceof Error ? failure.message : String(failure)}`,
      );
    } finally {
      setBusy(false);
    }
  };
  return (
    <main id="main" class="signin">
      <h1>drover</h1>
      <form onSubmit={submit} aria-describedby="signin-help">
        <label for="token">API token</label>
        <input
          id="token"
          name="token"
          type="password"
          autocomplete="off"
          spellcheck={false}
          required
          value={token}
          onInput={(event) => setToken(event.currentTarget.value)}
          aria-invalid={error === null ? undefined : "true"}
          aria-describedby={error === null ? undefined : "token-error"}
        />
        {error === null ? null : (
          <p id="token-error" class="field-error" role="alert">
            {error}
          </p>
        )}
        <button type="submit" disabled={busy}>
          Sign in
        </button>
        <p id="signin-help" class="hint">
          The token is kept in this tab's session storage only, and sent as an <code>Authorization</code> header.
          <code>npm start</code> prints an admin token on first start; <code>drover token create</code> mints more.
        </p>
      </form>
    </main>
  );
}

function Shell({ access, onSignOut }: { access: Access; onSignOut: () => void }) {
  const route = useRoute();
  const tick = useLiveTick((message) => message === null);
  void tick;
  const first = useRef(true);
  useEffect(() => {
    // After a navigation (not on the first page, where the skip link comes first), move focus
    // to the new page's heading, so keyboard and screen reader users land on it.
    if (first.current) {
      first.current = false;
      return;
    }
    document.querySelector<HTMLElement>("main h1")?.focus();
  }, [route]);
  return (
    <>
      <button type="button" class="skip" onClick={skipToMain}>
        Skip to content
      </button>
      <header class="top">
        <a class="brand" href={to.overview()}>
          drover
        </a>
        <nav aria-label="Main">
          <a href={to.overview()} aria-current={route.name === "overview" ? "page" : undefined}>
            Overview
          </a>
          <a href={to.outbox("dead")} aria-current={route.name === "outbox" ? "page" : undefined}>
            Outbox
          </a>
          <a href={to.timers("pending")} aria-current={route.name === "timers" ? "page" : undefined}>
            Timers
          </a>
        </nav>
        <span class={`live live-${live.status}`} role="status">
          {live.status === "live" ? "Live" : live.status === "connecting" ? "Connecting…" : "Offline"}
        </span>
        <span class="who">
          {access.name ?? "token"} · {access.admin ? "admin" : access.write ? "write" : "read"}
        </span>
        <button type="button" class="link" onClick={onSignOut}>
          Sign out
        </button>
      </header>
      <Alerts />
      <main id="main" tabIndex={-1}>
        <Page route={route} access={access} />
      </main>
    </>
  );
}

function skipToMain() {
  // A button, not a link to #main: the fragment holds the route.
  document.getElementById("main")?.focus();
}

function Page({ route, access }: { route: Route; access: Access }) {
  switch (route.name) {
    case "overview":
      return <Overview />;
    case "machine":
      return <EntityList machine={route.machine} prefix={route.prefix} status={route.status} access={access} />;
    case "entity":
      return <EntityPage machine={route.machine} id={route.id} access={access} />;
    case "outbox":
      return <OutboxView status={route.status} access={access} />;
    case "timers":
      return <TimersView status={route.status} access={access} />;
    default: {
      const _exhaustive: never = route;
      return _exhaustive;
    }
  }
}
