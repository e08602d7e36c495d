package sandbox

import (
	"fmt"
	"regexp"
	"strings"
)

// formKeyRe finds the keys of `form to=… agent=… role=…`; a value runs to
// the next key, so numbers may contain spaces.
var formKeyRe = regexp.MustCompile(`(?i)(?:^|\s)(to|agent|from|role)=`)

// parseFormValues parses `to=… agent=… role=…` (from= is agent=) into a map
// keyed by to, agent and role, as screen.Screen.Fill takes them. Keys may be
// left out; a value may be empty.
func parseFormValues(args string) (map[string]string, error) {
	values := map[string]string{}
	args = strings.TrimSpace(args)
	if args == "" {
		return values, nil
	}
	locs := formKeyRe.FindAllStringSubmatchIndex(args, -1)
	if len(locs) == 0 || strings.TrimSpace(args[:locs[0][0]]) != "" {
		return nil, fmt.Errorf("form takes to=… agent=… role=…, e.g. form to=+1 415 555 0100 agent=+1 415 222 3333 role=agent")
	}
	for i, loc := range locs {
		key := strings.ToLower(args[loc[2]:loc[3]])
		if key == "from" {
			key = "agent"
		}
		end := len(args)
		if i+1 < len(locs) {
			end = locs[i+1][0]
		}
		if _, dup := values[key]; dup {
			return nil, fmt.Errorf("%s= is given twice", key)
		}
		values[key] = strings.TrimSpace(args[loc[1]:end])
	}
	return values, nil
}
