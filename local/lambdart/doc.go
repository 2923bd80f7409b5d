// Package lambdart is the local twin's AWS Lambda: each function runs as real
// processes (its bootstrap executable) under a Lambda Runtime API (2018-06-01) that
// this package serves, exactly as the provided.al2023 runtime sees it, and the
// Lambda REST API subset (Invoke, ListFunctions, GetFunction,
// GetFunctionConfiguration, GetFunctionConcurrency) is served by Handler so the AWS
// CLI and SDKs work against the twin unchanged.
//
// What a Lambda user should know about the twin:
//
//   - One execution environment is one process with its own Runtime API listener on
//     loopback (AWS_LAMBDA_RUNTIME_API=127.0.0.1:PORT). Processes start on the first
//     invoke that finds none idle, serve one invocation at a time, and stay warm for
//     the next; they are not frozen between invocations and are not reaped while
//     the twin runs (AWS reaps idle environments after some minutes).
//   - A process sees only the function's environment and the variables Lambda
//     defines (see buildEnv), never the twin's own environment. LAMBDA_TASK_ROOT and
//     the working directory are the bootstrap's folder, not /var/task.
//   - Timeout kills the process (Sandbox.Timedout). Memory is enforced by sampling
//     the process's resident set every 20 ms while it works: a process over its
//     MemorySize is killed (Runtime.OutOfMemory). A kernel would stop it at the
//     exact byte; the twin may see up to 20 ms of overshoot first.
//   - The init phase (start to the first /next) has Lambda's 10-second limit; its
//     duration is reported as Init Duration and, as Lambda bills OS-only runtimes,
//     counted in Billed Duration. A failed init fails that invoke with the init
//     error and the next invoke starts a fresh process.
//   - Reserved concurrency is enforced exactly (a synchronous invoke past it fails
//     at once with TooManyRequestsException). Account concurrency is not modelled;
//     instead Options.MaxConcurrency caps running invocations on this machine, and
//     callers past it wait for a slot rather than being throttled.
//   - Asynchronous (Event) invocations are queued in memory only: they are lost if
//     the twin stops. A function error is retried twice (after 1 and 2 minutes) as
//     Lambda does; throttled events wait for capacity.
//   - Only $LATEST exists: no versions, aliases, layers, extensions or X-Ray.
package lambdart
