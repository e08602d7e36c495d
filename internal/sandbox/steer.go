package sandbox

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/coldtransfer/coldtransfer/internal/fakeplivo"
)

// steering is how the fake Plivo answers the next request, set by
// `plivo …`.
type steering struct {
	resp fakeplivo.Response
	what string // the answer as the transcript shows it, e.g. "500 Internal Server Error {…}"
}

// proxyPage is what a proxy in front of Plivo might answer.
const proxyPage = "<html><head><title>502 Bad Gateway</title></head><body><h1>Bad Gateway</h1></body></html>"

// parseSteering parses the words after `plivo`. ok reports whether they ask
// for the normal answer again.
func parseSteering(args []string, apiID string) (s steering, normal bool, err error) {
	if len(args) == 0 {
		return steering{}, false, errors.New("say how Plivo should answer, e.g. plivo 500 (type help for the list)")
	}
	word, rest := strings.ToLower(args[0]), strings.Join(args[1:], " ")
	switch word {
	case "ok", "normal", "reset", "201":
		if rest == "" {
			return steering{}, true, nil
		}
	case "timeout":
		return steering{
			resp: fakeplivo.Response{Delay: time.Hour},
			what: "no answer (the bot gives up after PLIVO_TIMEOUT, " + plivoTimeout + " here)",
		}, false, nil
	case "slow":
		return steering{resp: fakeplivo.Response{Delay: time.Second}, what: "201 Created, after 1s"}, false, nil
	case "hangup":
		return steering{resp: fakeplivo.Response{Hijack: true}, what: "the connection closed without an answer"}, false, nil
	case "html":
		return steering{
			resp: fakeplivo.Response{Status: http.StatusBadGateway, Body: proxyPage, Header: http.Header{"Content-Type": {"text/html"}}},
			what: "502 Bad Gateway with an HTML page, as from a proxy in the way",
		}, false, nil
	}
	status, err := strconv.Atoi(word)
	if err != nil || status < 200 || status > 599 {
		return steering{}, false, fmt.Errorf("%q is not a way for Plivo to answer: use an HTTP status (200-599), timeout, slow, hangup, html or ok", args[0])
	}
	s.resp.Status = status
	switch {
	case status == http.StatusNotFound && rest == "":
		s.resp.Body = "{}" // what Plivo answers for a wrong PHLO or node id
	case status == http.StatusTooManyRequests:
		s.resp.Header = http.Header{"Retry-After": {"1"}}
		s.resp.Body = plivoBody(apiID, or(rest, "too many requests"))
	case status < 300:
		s.resp.Body = plivoBody(apiID, rest)
	case status < 500:
		s.resp.Body = plivoBody(apiID, or(rest, "trigger_source is not a member of this call"))
	default:
		s.resp.Body = plivoBody(apiID, or(rest, "internal server error"))
	}
	s.what = fmt.Sprintf("%d %s", status, http.StatusText(status))
	if s.resp.Header.Get("Retry-After") != "" {
		s.what += " (Retry-After: 1)"
	}
	s.what += " " + s.resp.Body
	return s, false, nil
}

// plivoBody is a Plivo answer: {"api_id":…,"error":…}.
func plivoBody(apiID, msg string) string {
	b, _ := json.Marshal(struct {
		APIID string `json:"api_id"`
		Error string `json:"error"`
	}{apiID, msg})
	return string(b)
}

func or(s, def string) string {
	if s == "" {
		return def
	}
	return s
}
