// Package statemachine embeds the pipeline's Amazon States Language definitions and
// the EventBridge patterns that start them, for the CDK app and the local twin alike.
package statemachine
