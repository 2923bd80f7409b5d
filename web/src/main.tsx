import { render } from "preact";
import { loadConfig } from "./config";
import { AwsApi } from "./api/aws";
import { App } from "./app";
import { Uploads } from "./uploads";
import "./style.css";

async function boot() {
  const root = document.getElementById("app")!;
  try {
    const cfg = await loadConfig();
    const api = new AwsApi(cfg);
    render(<App api={api} uploads={new Uploads(api)} />, root);
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
