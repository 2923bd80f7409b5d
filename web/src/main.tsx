import { render } from "preact";
import { loadConfig } from "./config";
import { LocalApi } from "./api/local";
import type { Api } from "./api/types";
import { App } from "./app";
import "./style.css";

async function boot() {
  const root = document.getElementById("app")!;
  try {
    const cfg = await loadConfig();
    let api: Api;
    if (cfg.mode === "aws") {
      // The AWS SDK stays in its own chunk: the local twin never downloads it.
      const { AwsApi } = await import("./api/aws");
      api = new AwsApi(cfg);
    } else {
      api = new LocalApi(cfg.apiBase);
    }
    render(<App api={api} />, root);
  } catch (e) {
    render(
      <main class="boot-error">
        <h1>imagepipe could not start</h1>
        <p role="alert">{(e as Error).message}</p>
      </main>,
      root,
    );
  }
}

void boot();
