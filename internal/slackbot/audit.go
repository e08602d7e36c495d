package slackbot

import (
	"errors"
	"time"

	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"

	"github.com/coldtransfer/coldtransfer/internal/authz"
	"github.com/coldtransfer/coldtransfer/internal/intake"
	"github.com/coldtransfer/coldtransfer/internal/outcome"
	"github.com/coldtransfer/coldtransfer/internal/plivo"
)

// decide records a check's decision after those before it: the entry's
// decision becomes d, its reason following theirs, so the audit line says
// every check that ran, and which one refused.
func (e *auditLine) addDecision(d authz.Decision) {
	if e.decision != nil {
		d.Reason = e.decision.Reason + "; " + d.Reason
	}
	e.decision = &d
}

// refuse records a refusal by a check of the shared store (rate, claim).
func (e *auditLine) refuse(reason string) { e.addDecision(authz.Decision{Reason: reason}) }

// auditLine gathers what the one `transfer` log line of a request says. It is filled as the request goes and written once, by
// (*Bot).audit.
type auditLine struct {
	start     time.Time
	path      outcome.Path
	requester string
	channel   string
	spec      intake.Spec
	decision  *authz.Decision
	outcome   outcome.Outcome
	result    plivo.Result
	err       error  // why the request failed, if it did
	problem   string // for invalid input: what was wrong
	replyErr  error  // the thread reply could not be posted
	thread    string // ts of the transfer's announcement, once posted: its thread
}

// audit writes the entry's `transfer` line. A result that could not be
// posted in the thread is logged at error level, so that it is not lost.
// The fields are built only when the line is written at the logger's level.
func (b *Bot) audit(e *auditLine) {
	level := zapcore.InfoLevel
	switch {
	case e.replyErr != nil:
		level = zapcore.ErrorLevel
	case e.outcome != outcome.Transferred && e.outcome != outcome.DryRun:
		level = zapcore.WarnLevel
	}
	if ce := b.log.Check(level, "transfer"); ce != nil {
		ce.Write(auditFields(e)...)
	}
	b.metrics.Request(e.path, e.spec.PlivoAction(), e.outcome)
	b.toSurfaces(e)
}

// auditFields are the fields of the entry's `transfer` line.
func auditFields(e *auditLine) []zap.Field {
	apiID, status := e.result.APIID, e.result.Status
	errText, cause := e.problem, ""
	if e.err != nil {
		errText = e.err.Error()
		if pe, ok := errors.AsType[*plivo.Error](e.err); ok {
			apiID, status = pe.APIID, pe.Status
			if c := errors.Unwrap(pe); c != nil {
				cause = c.Error() // for the operator: which network error, exactly
			}
		}
	}
	decision, reason := "", ""
	if e.decision != nil {
		decision, reason = "refused", e.decision.Reason
		if e.decision.Allowed {
			decision = "allowed"
		}
	}
	fields := []zap.Field{
		zap.String("requester", e.requester),
		zap.String("channel", e.channel),
		zap.String("path", string(e.path)),
		zap.String("action", string(e.spec.PlivoAction())),
		zap.String("to", e.spec.To.String()),
		zap.String("trigger_source", e.spec.TriggerSource.String()),
		zap.String("role", string(e.spec.Role)),
		zap.String("destination", e.spec.Destination), // the directory name; "" when typed
		zap.String("agent", e.spec.Agent),             // the agent's Slack id; "" when typed
		zap.String("decision", decision),
		zap.String("reason", reason),
		zap.String("outcome", string(e.outcome)),
		zap.String("api_id", apiID),
		zap.Int("plivo_status", status),
		zap.String("error", errText),
		zap.Duration("duration", time.Since(e.start)),
	}
	if cause != "" {
		fields = append(fields, zap.String("cause", cause))
	}
	if e.replyErr != nil {
		fields = append(fields, zap.String("reply_error", e.replyErr.Error()))
	}
	return fields
}
