package config_test

import (
	"maps"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"go.uber.org/zap/zapcore"

	"github.com/coldtransfer/coldtransfer/internal/authz"
	"github.com/coldtransfer/coldtransfer/internal/config"
	"github.com/coldtransfer/coldtransfer/internal/plivo"
)

// The secrets of validEnv. Each is distinctive enough that finding it in an
// error message cannot be a coincidence, and longer than any value an error
// message repeats, so that FuzzLoad can paste it anywhere.
const (
	botToken  = "xoxb-1111-2222-BotSecretBotSecretBotSecret"
	appToken  = "xapp-1-A0001-3333-AppSecretAppSecretAppSecret"
	authToken = "PlivoSecretPlivoSecret0123456789abcdef"
	urlSecret = "hunter2"
	phloID    = "2f6e7c1a-8d7b-4f2e-9a51-0c3e5d7b9a12"
	nodeID    = "9B1D3E5F-0A2C-4E6A-8C0E-2A4C6E8A0C2E"
	authID    = "MAXXXXXXXXXXXXXXXXXX"
)

// validEnv is a complete, valid environment with only the required
// variables set.
func validEnv() map[string]string {
	return map[string]string{
		"SLACK_BOT_TOKEN":        botToken,
		"SLACK_APP_TOKEN":        appToken,
		"PLIVO_AUTH_ID":          authID,
		"PLIVO_AUTH_TOKEN":       authToken,
		"PLIVO_PHLO_ID":          phloID,
		"PLIVO_NODE_ID":          nodeID,
		"TRANSFER_ALLOWED_USERS": "U123ABC",
	}
}

// lookup is a config.Lookup over env, like os.LookupEnv over a process's
// environment.
func lookup(env map[string]string) config.Lookup {
	return func(name string) (string, bool) {
		v, ok := env[name]
		return v, ok
	}
}

// with returns validEnv changed by set; a value of unset deletes the
// variable.
func with(set map[string]string) map[string]string {
	env := validEnv()
	for k, v := range set {
		if v == unset {
			delete(env, k)
			continue
		}
		env[k] = v
	}
	return env
}

// unset in a with map removes the variable from the environment.
const unset = "\x00unset"

// defaults is the Config of validEnv.
func defaults() config.Config {
	return config.Config{
		SlackBotToken: botToken,
		SlackAppToken: appToken,
		SlackAPIURL:   "https://slack.com/api/",
		Plivo: plivo.Config{
			BaseURL:      "https://phlorunner.plivo.com",
			AuthID:       authID,
			AuthToken:    authToken,
			PhloID:       phloID,
			NodeID:       nodeID,
			Timeout:      10 * time.Second,
			NumberFormat: plivo.FormatE164,
		},
		Policy:      authz.Policy{Users: []string{"U123ABC"}},
		RatePerUser: authz.RateLimit{N: 10, Window: time.Minute},
		MaxInFlight: 256,
		LogLevel:    zapcore.InfoLevel,
		LogFormat:   "json",
	}
}

func TestLoadValid(t *testing.T) {
	tests := []struct {
		name string
		env  map[string]string
		want func(*config.Config) // changes defaults() into the expected Config
	}{
		{
			name: "required only: defaults",
			env:  validEnv(),
			want: func(*config.Config) {},
		},
		{
			name: "empty optional variables are unset",
			env: with(map[string]string{
				"SLACK_API_URL": "", "PLIVO_PHLO_URL": "", "PLIVO_TIMEOUT": "", "PLIVO_NUMBER_FORMAT": "",
				"TRANSFER_ALLOWED_GROUPS": "", "TRANSFER_ALLOWED_CHANNELS": "", "DRY_RUN": "",
				"HEALTH_ADDR": "", "MAX_IN_FLIGHT": "", "LOG_LEVEL": "", "LOG_FORMAT": "", "DIRECTORY_FILE": "",
			}),
			want: func(*config.Config) {},
		},
		{
			name: "whitespace-only optional variables are unset",
			env:  with(map[string]string{"SLACK_API_URL": " ", "PLIVO_TIMEOUT": "\t", "LOG_LEVEL": " \n"}),
			want: func(*config.Config) {},
		},
		{
			name: "every variable set",
			env: with(map[string]string{
				"SLACK_API_URL":             "http://127.0.0.1:8080/api/",
				"PLIVO_PHLO_URL":            "http://127.0.0.1:9090/",
				"PLIVO_TIMEOUT":             "1500ms",
				"PLIVO_NUMBER_FORMAT":       "digits",
				"TRANSFER_ALLOWED_USERS":    "U123ABC, W456DEF",
				"TRANSFER_ALLOWED_GROUPS":   "S0614TZR7",
				"TRANSFER_ALLOWED_CHANNELS": "C0123,G0456",
				"DRY_RUN":                   "true",
				"HEALTH_ADDR":               "127.0.0.1:8081",
				"MAX_IN_FLIGHT":             "10",
				"LOG_LEVEL":                 "debug",
				"LOG_FORMAT":                "console",
				"DIRECTORY_FILE":            "/etc/coldtransfer/directory.yaml",
			}),
			want: func(c *config.Config) {
				c.SlackAPIURL = "http://127.0.0.1:8080/api/"
				c.Plivo.BaseURL = "http://127.0.0.1:9090"
				c.Plivo.Timeout = 1500 * time.Millisecond
				c.Plivo.NumberFormat = plivo.FormatDigits
				c.Policy = authz.Policy{
					Users:    []string{"U123ABC", "W456DEF"},
					Groups:   []string{"S0614TZR7"},
					Channels: []string{"C0123", "G0456"},
				}
				c.DryRun = true
				c.HealthAddr = "127.0.0.1:8081"
				c.MaxInFlight = 10
				c.LogLevel = zapcore.DebugLevel
				c.LogFormat = "console"
				c.DirectoryFile = "/etc/coldtransfer/directory.yaml"
			},
		},
		{
			name: "SLACK_API_URL without trailing slash gets one",
			env:  with(map[string]string{"SLACK_API_URL": "https://slack-gov.com/api"}),
			want: func(c *config.Config) { c.SlackAPIURL = "https://slack-gov.com/api/" },
		},
		{
			name: "PLIVO_PHLO_URL loses its trailing slash",
			env:  with(map[string]string{"PLIVO_PHLO_URL": "https://phlo.example.com/"}),
			want: func(c *config.Config) { c.Plivo.BaseURL = "https://phlo.example.com" },
		},
		{
			name: "space around values is trimmed",
			env:  with(map[string]string{"SLACK_BOT_TOKEN": " " + botToken + "\n", "PLIVO_PHLO_ID": "\t" + phloID + " "}),
			want: func(*config.Config) {},
		},
		{
			name: "groups without users",
			env:  with(map[string]string{"TRANSFER_ALLOWED_USERS": unset, "TRANSFER_ALLOWED_GROUPS": "S0AB"}),
			want: func(c *config.Config) { c.Policy = authz.Policy{Groups: []string{"S0AB"}} },
		},
		{
			name: "DRY_RUN false, warn and error levels, any-host health address",
			env:  with(map[string]string{"DRY_RUN": "false", "LOG_LEVEL": "warn", "HEALTH_ADDR": ":8080"}),
			want: func(c *config.Config) { c.LogLevel = zapcore.WarnLevel; c.HealthAddr = ":8080" },
		},
		{
			name: "AUDIT_CHANNEL, public or older private",
			env:  with(map[string]string{"AUDIT_CHANNEL": " C0AUDIT42 "}),
			want: func(c *config.Config) { c.AuditChannel = "C0AUDIT42" },
		},
		{
			name: "AUDIT_CHANNEL, an older private channel",
			env:  with(map[string]string{"AUDIT_CHANNEL": "G0SEC0001"}),
			want: func(c *config.Config) { c.AuditChannel = "G0SEC0001" },
		},
		{
			name: "limits accepted",
			env:  with(map[string]string{"PLIVO_TIMEOUT": "1m", "MAX_IN_FLIGHT": "10000", "LOG_LEVEL": "error"}),
			want: func(c *config.Config) {
				c.Plivo.Timeout = time.Minute
				c.MaxInFlight = 10000
				c.LogLevel = zapcore.ErrorLevel
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := config.Load(lookup(tt.env))
			if err != nil {
				t.Fatalf("Load: unexpected error:\n%v", err)
			}
			want := defaults()
			tt.want(&want)
			if !reflect.DeepEqual(got, want) {
				t.Errorf("Load:\ngot  %+v\nwant %+v", got, want)
			}
		})
	}
}

// loadErrorTests are environments with problems, and the lines of Load's
// error, in order.
var loadErrorTests = []struct {
	name string
	env  map[string]string
	want []string
}{
	// Missing.
	{
		name: "empty environment",
		env:  map[string]string{},
		want: []string{
			"SLACK_BOT_TOKEN: is required",
			"SLACK_APP_TOKEN: is required",
			"PLIVO_AUTH_ID: is required",
			"PLIVO_AUTH_TOKEN: is required",
			"PLIVO_PHLO_ID: is required",
			"PLIVO_NODE_ID: is required",
			"TRANSFER_ALLOWED_USERS or TRANSFER_ALLOWED_GROUPS must be set: the bot never starts open to everyone",
		},
	},
	{
		name: "required variables set to the empty string",
		env: with(map[string]string{
			"SLACK_BOT_TOKEN": "", "SLACK_APP_TOKEN": " ", "PLIVO_AUTH_ID": "",
			"PLIVO_AUTH_TOKEN": "", "PLIVO_PHLO_ID": "", "PLIVO_NODE_ID": "\t",
		}),
		want: []string{
			"SLACK_BOT_TOKEN: is required",
			"SLACK_APP_TOKEN: is required",
			"PLIVO_AUTH_ID: is required",
			"PLIVO_AUTH_TOKEN: is required",
			"PLIVO_PHLO_ID: is required",
			"PLIVO_NODE_ID: is required",
		},
	},
	{
		name: "neither users nor groups",
		env:  with(map[string]string{"TRANSFER_ALLOWED_USERS": unset, "TRANSFER_ALLOWED_CHANNELS": "C0123"}),
		want: []string{"TRANSFER_ALLOWED_USERS or TRANSFER_ALLOWED_GROUPS must be set: the bot never starts open to everyone"},
	},

	// Slack tokens.
	{
		name: "bot token is an app token",
		env:  with(map[string]string{"SLACK_BOT_TOKEN": appToken}),
		want: []string{"SLACK_BOT_TOKEN: starts with xapp- but must start with xoxb-: use the Bot User OAuth Token (OAuth & Permissions)"},
	},
	{
		name: "app token is a bot token",
		env:  with(map[string]string{"SLACK_APP_TOKEN": botToken}),
		want: []string{"SLACK_APP_TOKEN: starts with xoxb- but must start with xapp-: use an app-level token with connections:write (Basic Information)"},
	},
	{
		name: "tokens swapped",
		env:  with(map[string]string{"SLACK_BOT_TOKEN": appToken, "SLACK_APP_TOKEN": botToken}),
		want: []string{
			"SLACK_BOT_TOKEN: starts with xapp- but must start with xoxb-: use the Bot User OAuth Token (OAuth & Permissions)",
			"SLACK_APP_TOKEN: starts with xoxb- but must start with xapp-: use an app-level token with connections:write (Basic Information)",
		},
	},
	{
		name: "bot token is a user token",
		env:  with(map[string]string{"SLACK_BOT_TOKEN": "xoxp-4444-UserSecretUserSecret"}),
		want: []string{"SLACK_BOT_TOKEN: starts with xoxp- but must start with xoxb-: use the Bot User OAuth Token (OAuth & Permissions)"},
	},
	{
		name: "bot token without any known prefix",
		env:  with(map[string]string{"SLACK_BOT_TOKEN": "Bearer BotSecretBotSecret"}),
		want: []string{"SLACK_BOT_TOKEN: must start with xoxb-: use the Bot User OAuth Token (OAuth & Permissions)"},
	},
	{
		name: "bot token with a space inside",
		env:  with(map[string]string{"SLACK_BOT_TOKEN": "xoxb-1111-2222 BotSecretBotSecret"}),
		want: []string{"SLACK_BOT_TOKEN: is not a valid token (it must be xoxb-… with no spaces or other characters): copy it again"},
	},
	{
		name: "app token with a newline inside",
		env:  with(map[string]string{"SLACK_APP_TOKEN": "xapp-1-A0001\n3333-AppSecretAppSecret"}),
		want: []string{"SLACK_APP_TOKEN: is not a valid token (it must be xapp-… with no spaces or other characters): copy it again"},
	},
	{
		name: "bot token with a non-ASCII character",
		env:  with(map[string]string{"SLACK_BOT_TOKEN": "xoxb-1111-2222-BotSecret…"}),
		want: []string{"SLACK_BOT_TOKEN: is not a valid token (it must be xoxb-… with no spaces or other characters): copy it again"},
	},
	{
		name: "bot token is only its prefix",
		env:  with(map[string]string{"SLACK_BOT_TOKEN": "xoxb-"}),
		want: []string{"SLACK_BOT_TOKEN: is not a valid token (it must be xoxb-… with no spaces or other characters): copy it again"},
	},

	// Plivo credentials and ids.
	{
		name: "auth id lower case",
		env:  with(map[string]string{"PLIVO_AUTH_ID": "maxxxxxxxxxxxxxxxxxx"}),
		want: []string{"PLIVO_AUTH_ID: is not a Plivo auth id: 20 upper-case letters and digits, like MAXXXXXXXXXXXXXXXXXX"},
	},
	{
		name: "auth id too short",
		env:  with(map[string]string{"PLIVO_AUTH_ID": "MAXXXXXXXXXXXXXXXXX"}),
		want: []string{"PLIVO_AUTH_ID: is not a Plivo auth id: 20 upper-case letters and digits, like MAXXXXXXXXXXXXXXXXXX"},
	},
	{
		name: "auth token too short",
		env:  with(map[string]string{"PLIVO_AUTH_TOKEN": "ShortSecret01"}),
		want: []string{"PLIVO_AUTH_TOKEN: is not a valid auth token (16 to 128 printable characters, no spaces): copy it again from the Plivo console"},
	},
	{
		name: "auth token with a space",
		env:  with(map[string]string{"PLIVO_AUTH_TOKEN": "PlivoSecret Plivo0123456789"}),
		want: []string{"PLIVO_AUTH_TOKEN: is not a valid auth token (16 to 128 printable characters, no spaces): copy it again from the Plivo console"},
	},
	{
		name: "auth token too long",
		env:  with(map[string]string{"PLIVO_AUTH_TOKEN": strings.Repeat("PlivoSecret", 12)}),
		want: []string{"PLIVO_AUTH_TOKEN: is not a valid auth token (16 to 128 printable characters, no spaces): copy it again from the Plivo console"},
	},
	{
		name: "PHLO id not a UUID",
		env:  with(map[string]string{"PLIVO_PHLO_ID": "my-phlo"}),
		want: []string{"PLIVO_PHLO_ID: is not a PHLO id: a UUID like 2f6e7c1a-8d7b-4f2e-9a51-0c3e5d7b9a12 (PHLO list in the Plivo console)"},
	},
	{
		name: "PHLO id without dashes",
		env:  with(map[string]string{"PLIVO_PHLO_ID": "2f6e7c1a8d7b4f2e9a510c3e5d7b9a12"}),
		want: []string{"PLIVO_PHLO_ID: is not a PHLO id: a UUID like 2f6e7c1a-8d7b-4f2e-9a51-0c3e5d7b9a12 (PHLO list in the Plivo console)"},
	},
	{
		name: "node id not a UUID",
		env:  with(map[string]string{"PLIVO_NODE_ID": "2f6e7c1a-8d7b-4f2e-9a51-0c3e5d7b9a1z"}),
		want: []string{"PLIVO_NODE_ID: is not a node id: the Multi-Party Call node's UUID (shown on the node in the PHLO editor)"},
	},

	// URLs.
	{
		name: "relative SLACK_API_URL",
		env:  with(map[string]string{"SLACK_API_URL": "/api/"}),
		want: []string{"SLACK_API_URL: must be an absolute http or https URL, like https://slack.com/api/"},
	},
	{
		name: "SLACK_API_URL without scheme",
		env:  with(map[string]string{"SLACK_API_URL": "slack.com/api/"}),
		want: []string{"SLACK_API_URL: must be an absolute http or https URL, like https://slack.com/api/"},
	},
	{
		name: "ftp PLIVO_PHLO_URL",
		env:  with(map[string]string{"PLIVO_PHLO_URL": "ftp://phlorunner.plivo.com"}),
		want: []string{"PLIVO_PHLO_URL: must be an absolute http or https URL, like https://phlorunner.plivo.com"},
	},
	{
		name: "unparsable PLIVO_PHLO_URL with a password",
		env:  with(map[string]string{"PLIVO_PHLO_URL": "https://user:" + urlSecret + "@host:port/"}),
		want: []string{"PLIVO_PHLO_URL: must be an absolute http or https URL, like https://phlorunner.plivo.com"},
	},
	{
		name: "SLACK_API_URL with user and password",
		env:  with(map[string]string{"SLACK_API_URL": "https://user:" + urlSecret + "@x/api/"}),
		want: []string{"SLACK_API_URL: must not contain credentials"},
	},
	{
		name: "PLIVO_PHLO_URL with user and password",
		env:  with(map[string]string{"PLIVO_PHLO_URL": "https://user:" + urlSecret + "@x"}),
		want: []string{"PLIVO_PHLO_URL: must not contain credentials"},
	},
	{
		name: "PLIVO_PHLO_URL with a password and a query",
		env:  with(map[string]string{"PLIVO_PHLO_URL": "https://user:" + urlSecret + "@x/?token=" + urlSecret}),
		want: []string{"PLIVO_PHLO_URL: must not contain credentials"},
	},
	{
		name: "SLACK_API_URL with a query",
		env:  with(map[string]string{"SLACK_API_URL": "https://slack.com/api/?token=" + urlSecret}),
		want: []string{"SLACK_API_URL: must not have a query or fragment"},
	},
	{
		name: "SLACK_API_URL with an empty query",
		env:  with(map[string]string{"SLACK_API_URL": "https://slack.com/api?"}),
		want: []string{"SLACK_API_URL: must not have a query or fragment"},
	},
	{
		name: "PLIVO_PHLO_URL with a fragment",
		env:  with(map[string]string{"PLIVO_PHLO_URL": "https://phlorunner.plivo.com/#v1"}),
		want: []string{"PLIVO_PHLO_URL: must not have a query or fragment"},
	},
	{
		name: "PLIVO_PHLO_URL with an empty fragment",
		env:  with(map[string]string{"PLIVO_PHLO_URL": "https://phlorunner.plivo.com#"}),
		want: []string{"PLIVO_PHLO_URL: must not have a query or fragment"},
	},

	// Durations, formats, switches, numbers.
	{
		name: "PLIVO_TIMEOUT without unit",
		env:  with(map[string]string{"PLIVO_TIMEOUT": "10"}),
		want: []string{`PLIVO_TIMEOUT: "10" is not a duration: write it like 10s or 1500ms`},
	},
	{
		name: "PLIVO_TIMEOUT negative",
		env:  with(map[string]string{"PLIVO_TIMEOUT": "-1s"}),
		want: []string{"PLIVO_TIMEOUT: must be more than 0 and at most 1m0s, not -1s"},
	},
	{
		name: "PLIVO_TIMEOUT zero",
		env:  with(map[string]string{"PLIVO_TIMEOUT": "0s"}),
		want: []string{"PLIVO_TIMEOUT: must be more than 0 and at most 1m0s, not 0s"},
	},
	{
		name: "PLIVO_TIMEOUT too long",
		env:  with(map[string]string{"PLIVO_TIMEOUT": "2h"}),
		want: []string{"PLIVO_TIMEOUT: must be more than 0 and at most 1m0s, not 2h0m0s"},
	},
	{
		name: "PLIVO_NUMBER_FORMAT upper case",
		env:  with(map[string]string{"PLIVO_NUMBER_FORMAT": "E164"}),
		want: []string{`PLIVO_NUMBER_FORMAT: must be "e164" or "digits", not "E164"`},
	},
	{
		name: "DRY_RUN not a boolean",
		env:  with(map[string]string{"DRY_RUN": "maybe"}),
		want: []string{`DRY_RUN: must be true or false, not "maybe"`},
	},
	{
		name: "HEALTH_ADDR only a port",
		env:  with(map[string]string{"HEALTH_ADDR": "8080"}),
		want: []string{`HEALTH_ADDR: must be host:port, like 127.0.0.1:8080, not "8080"`},
	},
	{
		name: "HEALTH_ADDR port out of range",
		env:  with(map[string]string{"HEALTH_ADDR": "localhost:99999"}),
		want: []string{`HEALTH_ADDR: must be host:port, like 127.0.0.1:8080, not "localhost:99999"`},
	},
	{
		name: "HEALTH_ADDR a URL",
		env:  with(map[string]string{"HEALTH_ADDR": "http://127.0.0.1:8080"}),
		want: []string{`HEALTH_ADDR: must be host:port, like 127.0.0.1:8080, not "http://127.0.0.1:8080"`},
	},
	{
		name: "MAX_IN_FLIGHT zero",
		env:  with(map[string]string{"MAX_IN_FLIGHT": "0"}),
		want: []string{`MAX_IN_FLIGHT: must be a whole number from 1 to 10000, not "0"`},
	},
	{
		name: "MAX_IN_FLIGHT not a number",
		env:  with(map[string]string{"MAX_IN_FLIGHT": "x"}),
		want: []string{`MAX_IN_FLIGHT: must be a whole number from 1 to 10000, not "x"`},
	},
	{
		name: "MAX_IN_FLIGHT too large",
		env:  with(map[string]string{"MAX_IN_FLIGHT": "10001"}),
		want: []string{`MAX_IN_FLIGHT: must be a whole number from 1 to 10000, not "10001"`},
	},
	{
		name: "LOG_LEVEL unknown",
		env:  with(map[string]string{"LOG_LEVEL": "verbose"}),
		want: []string{`LOG_LEVEL: must be one of debug, info, warn, error, not "verbose"`},
	},
	{
		name: "LOG_FORMAT unknown",
		env:  with(map[string]string{"LOG_FORMAT": "xml"}),
		want: []string{`LOG_FORMAT: must be one of json, console, not "xml"`},
	},

	// Secrets pasted on the wrong line are never repeated back.
	{
		name: "bot token pasted into LOG_LEVEL",
		env:  with(map[string]string{"LOG_LEVEL": botToken}),
		want: []string{"LOG_LEVEL: must be one of debug, info, warn, error, not a value of 42 characters (not shown: it may be a secret)"},
	},
	{
		name: "short token pasted into DRY_RUN",
		env:  with(map[string]string{"DRY_RUN": "xoxb-1"}),
		want: []string{"DRY_RUN: must be true or false, not a value of 6 characters (not shown: it may be a secret)"},
	},
	{
		name: "auth token pasted into PLIVO_NUMBER_FORMAT and PLIVO_TIMEOUT",
		env:  with(map[string]string{"PLIVO_NUMBER_FORMAT": authToken, "PLIVO_TIMEOUT": authToken}),
		want: []string{
			"PLIVO_TIMEOUT: a value of 38 characters (not shown: it may be a secret) is not a duration: write it like 10s or 1500ms",
			`PLIVO_NUMBER_FORMAT: must be "e164" or "digits", not a value of 38 characters (not shown: it may be a secret)`,
		},
	},
	{
		name: "auth token pasted into HEALTH_ADDR and MAX_IN_FLIGHT",
		env:  with(map[string]string{"HEALTH_ADDR": authToken, "MAX_IN_FLIGHT": authToken}),
		want: []string{
			"HEALTH_ADDR: must be host:port, like 127.0.0.1:8080, not a value of 38 characters (not shown: it may be a secret)",
			"MAX_IN_FLIGHT: must be a whole number from 1 to 10000, not a value of 38 characters (not shown: it may be a secret)",
		},
	},
	{
		name: "bot token pasted into TRANSFER_ALLOWED_USERS",
		env:  with(map[string]string{"TRANSFER_ALLOWED_USERS": "U123ABC," + botToken}),
		want: []string{"TRANSFER_ALLOWED_USERS: item 2 is not a user id (U… or W…)"},
	},

	// Who may transfer (authz.ParsePolicy's messages).
	{
		name: "TRANSFER_ALLOWED_USERS with an empty item",
		env:  with(map[string]string{"TRANSFER_ALLOWED_USERS": "U123ABC,,W456DEF"}),
		want: []string{"TRANSFER_ALLOWED_USERS: item 2 is empty"},
	},
	{
		name: "TRANSFER_ALLOWED_GROUPS holding a user id",
		env:  with(map[string]string{"TRANSFER_ALLOWED_GROUPS": "U123ABC"}),
		want: []string{`TRANSFER_ALLOWED_GROUPS: "U123ABC" is not a user-group id (S…)`},
	},
	{
		name: "TRANSFER_ALLOWED_CHANNELS holding a channel name",
		env:  with(map[string]string{"TRANSFER_ALLOWED_CHANNELS": "general"}),
		want: []string{`TRANSFER_ALLOWED_CHANNELS: "general" is not a channel id (C…, G… or D…)`},
	},
	{
		name: "TRANSFER_ALLOWED_USERS lower case",
		env:  with(map[string]string{"TRANSFER_ALLOWED_USERS": "u123abc"}),
		want: []string{`TRANSFER_ALLOWED_USERS: "u123abc" has lower-case letters: Slack ids are upper-case ("U123ABC")`},
	},
	{
		name: "TRANSFER_ALLOWED_USERS id too short",
		env:  with(map[string]string{"TRANSFER_ALLOWED_USERS": "U1"}),
		want: []string{`TRANSFER_ALLOWED_USERS: "U1" is too short: Slack ids have 3 to 31 characters`},
	},
	{
		name: "TRANSFER_ALLOWED_USERS with a mention",
		env:  with(map[string]string{"TRANSFER_ALLOWED_USERS": "@U123ABC"}),
		want: []string{`TRANSFER_ALLOWED_USERS: "@U123ABC" is not a user id (U… or W…)`},
	},
	{
		name: "only bad users, no groups",
		env:  with(map[string]string{"TRANSFER_ALLOWED_USERS": ","}),
		want: []string{"TRANSFER_ALLOWED_USERS: item 1 is empty", "TRANSFER_ALLOWED_USERS: item 2 is empty"},
	},

	{
		name: "AUDIT_CHANNEL by name",
		env:  with(map[string]string{"AUDIT_CHANNEL": "#security"}),
		want: []string{`AUDIT_CHANNEL: "#security" is not a channel id: C… or G… in capitals, as the channel's details show it (About, at the bottom)`},
	},
	{
		name: "AUDIT_CHANNEL a user or a direct message",
		env:  with(map[string]string{"AUDIT_CHANNEL": "D0123ABC"}),
		want: []string{`AUDIT_CHANNEL: "D0123ABC" is not a channel id: C… or G… in capitals, as the channel's details show it (About, at the bottom)`},
	},
	{
		name: "AUDIT_CHANNEL in lower case",
		env:  with(map[string]string{"AUDIT_CHANNEL": "c0audit42"}),
		want: []string{`AUDIT_CHANNEL: "c0audit42" is not a channel id: C… or G… in capitals, as the channel's details show it (About, at the bottom)`},
	},
	{
		name: "AUDIT_CHANNEL a pasted token is not echoed",
		env:  with(map[string]string{"AUDIT_CHANNEL": botToken}),
		want: []string{"AUDIT_CHANNEL: a value of 42 characters (not shown: it may be a secret) is not a channel id: C… or G… in capitals, as the channel's details show it (About, at the bottom)"},
	},

	// Several at once: every one reported, in the order of .env.example.
	{
		name: "many problems",
		env: map[string]string{
			"SLACK_BOT_TOKEN":           appToken,
			"SLACK_APP_TOKEN":           "xapp-bad token",
			"SLACK_API_URL":             "https://user:" + urlSecret + "@slack.example.com/api/",
			"PLIVO_AUTH_ID":             "nope",
			"PLIVO_AUTH_TOKEN":          "tiny",
			"PLIVO_PHLO_ID":             "phlo",
			"PLIVO_PHLO_URL":            "ftp://phlo",
			"PLIVO_TIMEOUT":             "10",
			"PLIVO_NUMBER_FORMAT":       "E164",
			"TRANSFER_ALLOWED_CHANNELS": "C0123,,general",
			"DRY_RUN":                   "maybe",
			"HEALTH_ADDR":               "8080",
			"MAX_IN_FLIGHT":             "0",
			"LOG_LEVEL":                 "verbose",
			"LOG_FORMAT":                "xml",
		},
		want: []string{
			"SLACK_BOT_TOKEN: starts with xapp- but must start with xoxb-: use the Bot User OAuth Token (OAuth & Permissions)",
			"SLACK_APP_TOKEN: is not a valid token (it must be xapp-… with no spaces or other characters): copy it again",
			"SLACK_API_URL: must not contain credentials",
			"PLIVO_PHLO_URL: must be an absolute http or https URL, like https://phlorunner.plivo.com",
			"PLIVO_AUTH_ID: is not a Plivo auth id: 20 upper-case letters and digits, like MAXXXXXXXXXXXXXXXXXX",
			"PLIVO_AUTH_TOKEN: is not a valid auth token (16 to 128 printable characters, no spaces): copy it again from the Plivo console",
			"PLIVO_PHLO_ID: is not a PHLO id: a UUID like 2f6e7c1a-8d7b-4f2e-9a51-0c3e5d7b9a12 (PHLO list in the Plivo console)",
			"PLIVO_NODE_ID: is required",
			`PLIVO_TIMEOUT: "10" is not a duration: write it like 10s or 1500ms`,
			`PLIVO_NUMBER_FORMAT: must be "e164" or "digits", not "E164"`,
			`DRY_RUN: must be true or false, not "maybe"`,
			`HEALTH_ADDR: must be host:port, like 127.0.0.1:8080, not "8080"`,
			`MAX_IN_FLIGHT: must be a whole number from 1 to 10000, not "0"`,
			`LOG_LEVEL: must be one of debug, info, warn, error, not "verbose"`,
			`LOG_FORMAT: must be one of json, console, not "xml"`,
			"TRANSFER_ALLOWED_CHANNELS: item 2 is empty",
			`TRANSFER_ALLOWED_CHANNELS: "general" is not a channel id (C…, G… or D…)`,
			"TRANSFER_ALLOWED_USERS or TRANSFER_ALLOWED_GROUPS must be set: the bot never starts open to everyone",
		},
	},
}

func TestLoadErrors(t *testing.T) {
	for _, tt := range loadErrorTests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := config.Load(lookup(tt.env))
			if err == nil {
				t.Fatalf("Load: no error, want %d problem(s):\n%s", len(tt.want), strings.Join(tt.want, "\n"))
			}
			got := strings.Split(err.Error(), "\n")
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("Load: %d problem(s):\n%s\nwant %d:\n%s",
					len(got), strings.Join(got, "\n"), len(tt.want), strings.Join(tt.want, "\n"))
			}
			for _, line := range got {
				if !namesVariable(line) {
					t.Errorf("line %q does not start with the name of the variable", line)
				}
			}
			for _, s := range secrets(tt.env) {
				if strings.Contains(err.Error(), s) {
					t.Errorf("Load's error echoes the secret %q:\n%v", s, err)
				}
			}
		})
	}
}

// namesVariable reports whether line starts with the name of a variable
// Load reads, like "PLIVO_TIMEOUT: …".
func namesVariable(line string) bool {
	end := strings.IndexAny(line, ": ")
	return end > 0 && knownVariables[line[:end]]
}

var knownVariables = map[string]bool{
	"SLACK_BOT_TOKEN": true, "SLACK_APP_TOKEN": true, "SLACK_API_URL": true,
	"PLIVO_AUTH_ID": true, "PLIVO_AUTH_TOKEN": true, "PLIVO_PHLO_ID": true, "PLIVO_NODE_ID": true,
	"PLIVO_PHLO_URL": true, "PLIVO_TIMEOUT": true, "PLIVO_NUMBER_FORMAT": true,
	"TRANSFER_ALLOWED_USERS": true, "TRANSFER_ALLOWED_GROUPS": true, "TRANSFER_ALLOWED_CHANNELS": true,
	"DRY_RUN": true, "HEALTH_ADDR": true, "MAX_IN_FLIGHT": true, "LOG_LEVEL": true, "LOG_FORMAT": true,
	"TRANSFER_RATE_PER_USER": true,
	"REDIS_URL":              true,
	"AUDIT_CHANNEL":          true,
}

// secrets returns the secret parts of env that an error must never repeat:
// the values of the Slack tokens without the prefix a message may name, the
// Plivo auth token, the URL password, and any Slack token pasted into
// another variable. The secrets of validEnv are always among them, in case
// a message picks one up from elsewhere.
func secrets(env map[string]string) []string {
	found := map[string]bool{urlSecret: true, botToken[5:]: true, appToken[5:]: true, authToken: true}
	for name, v := range env {
		v = strings.TrimSpace(v)
		rest := v
		for _, p := range []string{"xoxb-", "xapp-", "xoxp-", "xoxe-", "xoxa-"} {
			rest = strings.TrimPrefix(rest, p)
		}
		isSecret := name == "SLACK_BOT_TOKEN" || name == "SLACK_APP_TOKEN" || name == "PLIVO_AUTH_TOKEN"
		if (isSecret || rest != v) && len(rest) >= 2 {
			found[rest] = true
		}
	}
	return slices.Sorted(maps.Keys(found))
}

// FuzzLoad puts one arbitrary value in every variable that is not a secret,
// beside valid secrets: whatever the value, every problem is one line that
// names its variable, and no secret is repeated.
func FuzzLoad(f *testing.F) {
	for _, tt := range loadErrorTests {
		for _, v := range tt.env {
			f.Add(v)
		}
	}
	f.Add("U123ABC,\n" + botToken)
	f.Fuzz(func(t *testing.T, v string) {
		env := validEnv()
		for name := range knownVariables {
			if name != "SLACK_BOT_TOKEN" && name != "SLACK_APP_TOKEN" && name != "PLIVO_AUTH_TOKEN" {
				env[name] = v
			}
		}
		_, err := config.Load(lookup(env))
		if err == nil {
			return
		}
		for _, line := range strings.Split(err.Error(), "\n") {
			if !namesVariable(line) {
				t.Errorf("line %q does not start with the name of the variable", line)
			}
		}
		for _, s := range []string{botToken[5:], appToken[5:], authToken} {
			if strings.Contains(err.Error(), s) {
				t.Errorf("Load's error echoes the secret %q:\n%v", s, err)
			}
		}
	})
}
