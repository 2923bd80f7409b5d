// Package sfn is the local twin's AWS Step Functions: Standard state machines and
// their executions, run by local/asl on a bounded worker pool, persisted in a bbolt
// file, and served over the Step Functions JSON 1.0 protocol (Handler) so that the
// AWS CLI and SDKs work against it unchanged.
//
// What a Step Functions user should know about the twin:
//
//   - One account (000000000000) in one region (us-east-1): ARNs look like
//     arn:aws:states:us-east-1:000000000000:execution:<stateMachine>:<name>.
//   - StartExecution returns only once the execution and its ExecutionStarted event
//     are on disk. Executions then run on at most Options.Workers workers; the rest
//     are RUNNING with only ExecutionStarted in their history until a worker is free
//     (only their ARNs wait in memory; inputs stay on disk).
//   - A running execution's history events stay in memory (GetExecutionHistory
//     serves them from there) and reach the disk in bulk: with the execution's
//     outcome in one transaction, or 256 at a time for a long run. Nothing is lost
//     by this: a run interrupted by a crash re-runs from its start and its partial
//     history is discarded anyway (below), while a finished execution's status,
//     output and full history are written, and synced, together.
//   - Shutdown (Close) stops accepting starts and lets running executions finish
//     until its context ends; those still running then stay RUNNING.
//   - After a shutdown or a crash, executions left RUNNING (or PENDING_REDRIVE) are
//     re-run from the start of their current run when the twin starts again
//     (Resume). The interrupted run's partial history is discarded, so the history
//     reads as one clean run; name, input and startDate are unchanged. The
//     pipeline's steps are idempotent, so a re-run converges on the same result.
//   - RedriveExecution resumes where the execution stopped, as AWS does: the
//     unsuccessful state runs again with the input it had, the successful steps'
//     results are kept and their work is not repeated, and in a Parallel or Map
//     only the failed or aborted branches and iterations run (asl.Checkpoint). The
//     history gains ExecutionRedriven, then the new run's events; redriveCount and
//     redriveDate are set, and $$.Execution.RedriveCount and RedriveTime follow.
//     AWS's conditions apply: FAILED, TIMED_OUT or ABORTED, stopped within 14 days,
//     fewer than 25,000 history events (otherwise ExecutionNotRedrivable). The
//     status is PENDING_REDRIVE until a worker takes it, then RUNNING.
//   - An execution keeps the definition it started with: a redrive, and a re-run
//     after a crash, use it even when the state machine has changed since.
//   - StopExecution on an execution that has already stopped changes nothing and
//     returns its stop date.
//   - The developer APIs work as on AWS: CreateStateMachine (idempotent for the same
//     parameters), UpdateStateMachine, DeleteStateMachine,
//     DescribeStateMachineForExecution, ValidateStateMachineDefinition (AWS's
//     diagnostic codes and locations), TestState (one state, with the twin's
//     functions or a mock; INFO, DEBUG, TRACE) and SendTaskSuccess, SendTaskFailure
//     and SendTaskHeartbeat for .waitForTaskToken tasks. A definition using a
//     resource the engine does not run is InvalidDefinition, naming it.
//   - Requests are not authenticated; the twin listens on loopback.
package sfn
