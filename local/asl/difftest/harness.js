// Runs ASL definitions on aws-local-stepfunctions for the Go engine's differential
// test. stdin: [{"definition", "input"}...]; stdout: [{"output"} | {"error", "cause"}...].
// Task states run the JavaScript halves of the handler pairs in handlers.js.
'use strict';

// aws-local-stepfunctions v3 targets Node 22; Node 20 lacks Promise.withResolvers.
if (typeof Promise.withResolvers !== 'function') {
  Promise.withResolvers = function withResolvers() {
    let resolve;
    let reject;
    const promise = new Promise((res, rej) => {
      resolve = res;
      reject = rej;
    });
    return { promise, resolve, reject };
  };
}

const { StateMachine } = require('aws-local-stepfunctions');
const { newHandlers } = require('./handlers');

const LAMBDA_INVOKE = 'arn:aws:states:::lambda:invoke';

// Collect every state (nested in Parallel branches and Map processors) by name.
function walk(states, visit) {
  for (const [name, st] of Object.entries(states || {})) {
    visit(name, st);
    for (const b of st.Branches || []) walk(b.States, visit);
    const proc = st.ItemProcessor || st.Iterator;
    if (proc) walk(proc.States, visit);
  }
}

function functionName(arn) {
  const parts = String(arn).split(':');
  const i = parts.indexOf('function');
  return i >= 0 ? parts[i + 1] : parts[parts.length - 1];
}

function overridesFor(definition) {
  const handlers = newHandlers();
  const overrides = { taskResourceLocalHandlers: {}, waitTimeOverrides: {}, retryIntervalOverrides: {} };
  walk(definition.States, (name, st) => {
    if (st.Type === 'Wait') overrides.waitTimeOverrides[name] = 0;
    if (st.Retry) overrides.retryIntervalOverrides[name] = 0;
    if (st.Type !== 'Task') return;
    if (st.Resource === LAMBDA_INVOKE) {
      // The library treats every Resource as a function; emulate the optimized
      // integration's result shape around the same handler.
      overrides.taskResourceLocalHandlers[name] = async (params) => {
        const h = handlers[functionName(params.FunctionName)];
        const payload = await h(params.Payload === undefined ? {} : params.Payload);
        return { ExecutedVersion: '$LATEST', Payload: payload, StatusCode: 200 };
      };
    } else {
      overrides.taskResourceLocalHandlers[name] = (input) => handlers[functionName(st.Resource)](input);
    }
  });
  return overrides;
}

async function runOne({ definition, input }) {
  try {
    const sm = new StateMachine(definition, { validationOptions: { checkArn: false } });
    const output = await sm.run(input, { overrides: overridesFor(definition) }).result;
    return { output: output === undefined ? null : output };
  } catch (err) {
    // An ExecutionError wraps the state's error, whose .name is the ASL error name.
    const inner = err && err.name === 'ExecutionError' && err.cause instanceof Error ? err.cause : err;
    return { error: String(inner.name || 'Error'), cause: String(inner.message || '') };
  }
}

async function main() {
  let raw = '';
  for await (const chunk of process.stdin) raw += chunk;
  const requests = JSON.parse(raw);
  const results = [];
  for (const r of requests) results.push(await runOne(r));
  process.stdout.write(JSON.stringify(results));
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
