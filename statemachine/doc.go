// Package statemachine embeds the Amazon States Language definitions (the pipeline,
// the removal and the redrive job) and the EventBridge patterns that start the first
// two, for the CDK app and the local twin alike.
//
// Redrive paths. Every error a step raises is caught, sent to the failure queue as
// {error, cause, state, input, ...} and ends the execution in a Fail state. On AWS,
// RedriveExecution resumes an execution at its unsuccessful states only, keeping what
// succeeded; for a caught failure that is the Fail state alone, so redriving such an
// execution would fail again at once without doing any work. The pipeline therefore
// has two redrive paths, each of which does work on AWS:
//
//   - caught failures (FAILED executions): from the failure queue, a new execution
//     with the original input (functions/redrive FromQueue), run as a job by the
//     Redrive state machine (redrive.asl.json), which calls the redrive Lambda in
//     rounds over one snapshot of the queue;
//   - executions that stopped mid-work without reaching the catch path, TIMED_OUT
//     (the definition's TimeoutSeconds) or ABORTED (StopExecution): RedriveExecution,
//     which resumes the unfinished steps and keeps the finished ones.
package statemachine
