import type { Api } from "./api/types";
import { useRoute } from "./router";
import { UploadPage } from "./pages/Upload";
import { SearchPage } from "./pages/Search";
import { ExecutionsPage } from "./pages/Executions";
import { ExecutionPage } from "./pages/Execution";
import { FailuresPage } from "./pages/Failures";
import { StatusPage } from "./pages/Status";
import { AuthBar } from "./components/AuthBar";
import type { Uploads } from "./uploads";

const tabs: [string, string][] = [
  ["upload", "Upload"],
  ["search", "Search"],
  ["executions", "Executions"],
  ["failures", "Failures"],
  ["status", "Status"],
];

export function App({ api, uploads }: { api: Api; uploads: Uploads }) {
  const route = useRoute();
  const page = route.path[0] ?? "upload";
  let body;
  switch (page) {
    case "search":
      body = <SearchPage api={api} route={route} />;
      break;
    case "executions":
      body = route.path[1] ? <ExecutionPage api={api} arn={route.path[1]} /> : <ExecutionsPage api={api} route={route} />;
      break;
    case "failures":
      body = <FailuresPage api={api} />;
      break;
    case "status":
      body = <StatusPage api={api} />;
      break;
    case "upload":
      body = <UploadPage uploads={uploads} />;
      break;
    default:
      body = <p role="alert">There is no page called “{page}”.</p>;
  }
  return (
    <>
      <a class="skip" href="#main" onClick={(e) => { e.preventDefault(); document.getElementById("main")?.focus(); }}>
        Skip to content
      </a>
      <header class="top">
        <a class="brand" href="#/upload">imagepipe</a>
        <nav aria-label="Pages">
          {tabs.map(([id, label]) => (
            <a href={`#/${id}`} aria-current={page === id ? "page" : undefined}>
              {label}
            </a>
          ))}
        </nav>
        <span class="mode" title="Where this page talks to">{api.where ?? "AWS"}</span>
        {"auth" in api && api.auth ? <AuthBar auth={api.auth as never} /> : null}
      </header>
      <main id="main" tabIndex={-1}>{body}</main>
    </>
  );
}
