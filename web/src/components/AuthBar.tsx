import { useEffect, useState } from "preact/hooks";
import type { Auth } from "../api/aws";

export function AuthBar({ auth }: { auth: Auth }) {
  const [user, setUser] = useState(auth.user());
  const [open, setOpen] = useState(false);
  const [step, setStep] = useState<"in" | "up" | "confirm">("in");
  const [msg, setMsg] = useState("");
  const [busy, setBusy] = useState(false);
  useEffect(() => auth.subscribe(() => setUser(auth.user())), [auth]);
  if (user) {
    return (
      <span class="auth" data-testid="auth-user">
        {user}{" "}
        <button type="button" onClick={() => { auth.signOut(); setUser(undefined); }}>
          Sign out
        </button>
      </span>
    );
  }
  if (!open) {
    return (
      <button type="button" class="auth" data-testid="sign-in" onClick={() => setOpen(true)}>
        Sign in
      </button>
    );
  }
  const submit = async (e: Event) => {
    e.preventDefault();
    const f = new FormData(e.target as HTMLFormElement);
    // The user pool signs in by email: the email is the user name, one field.
    const u = String(f.get("email") ?? "").trim();
    setBusy(true);
    setMsg("");
    try {
      if (step === "in") {
        await auth.signIn(u, String(f.get("password")));
        setUser(auth.user());
        setOpen(false);
      } else if (step === "up") {
        await auth.signUp(u, String(f.get("password")));
        setStep("confirm");
        setMsg("A code was sent to your email.");
      } else {
        await auth.confirm(u, String(f.get("code")));
        setStep("in");
        setMsg("Confirmed: sign in now.");
      }
    } catch (err) {
      setMsg((err as Error).message);
    } finally {
      setBusy(false);
    }
  };
  return (
    <form class="auth-form" onSubmit={submit}>
      <label>
        Email <input name="email" type="email" autoComplete="username" required />
      </label>
      {step !== "confirm" && (
        <label>
          Password <input name="password" type="password" autoComplete={step === "in" ? "current-password" : "new-password"} required />
        </label>
      )}
      {step === "confirm" && (
        <label>
          Code <input name="code" inputMode="numeric" required />
        </label>
      )}
      <button disabled={busy}>{step === "in" ? "Sign in" : step === "up" ? "Sign up" : "Confirm"}</button>
      {step === "in" && <button type="button" onClick={() => setStep("up")}>Create account</button>}
      <button type="button" onClick={() => setOpen(false)}>Cancel</button>
      {msg && <span role="status">{msg}</span>}
    </form>
  );
}
