package auth0test

import (
	"net/http"
	"strings"
	"testing"
	"time"
)

func TestPasswordStrength(t *testing.T) {
	tests := []struct {
		name     string
		opts     ConnectionOptions
		password string
		want     bool
	}{
		{"none: one character", ConnectionOptions{}, "a", true},
		{"none: empty", ConnectionOptions{}, "", false},
		{"low: six characters", ConnectionOptions{PasswordPolicy: PolicyLow}, "abcdef", true},
		{"low: five characters", ConnectionOptions{PasswordPolicy: PolicyLow}, "abcde", false},
		{"low: six multibyte characters", ConnectionOptions{PasswordPolicy: PolicyLow}, "éééééé", true},
		{"fair: lower, upper, digit", ConnectionOptions{PasswordPolicy: PolicyFair}, "abcdEF12", true},
		{"fair: seven characters", ConnectionOptions{PasswordPolicy: PolicyFair}, "abcDE12", false},
		{"fair: no digit", ConnectionOptions{PasswordPolicy: PolicyFair}, "abcdEFGH!", false},
		{"fair: no upper case", ConnectionOptions{PasswordPolicy: PolicyFair}, "abcd1234", false},
		{"fair: special instead of upper case", ConnectionOptions{PasswordPolicy: PolicyFair}, "abcd123!", false},
		{"fair: non-ASCII upper case does not count", ConnectionOptions{PasswordPolicy: PolicyFair}, "abcd123É", false},
		{"good: lower, upper, digit", ConnectionOptions{PasswordPolicy: PolicyGood}, "abcdEF12", true},
		{"good: lower, digit, special", ConnectionOptions{PasswordPolicy: PolicyGood}, "abcd12!!", true},
		{"good: lower, upper, space", ConnectionOptions{PasswordPolicy: PolicyGood}, "I have a password", true},
		{"good: two types", ConnectionOptions{PasswordPolicy: PolicyGood}, "abcd1234", false},
		{"good: seven characters", ConnectionOptions{PasswordPolicy: PolicyGood}, "abcD12!", false},
		{"excellent: ten characters, three types", ConnectionOptions{PasswordPolicy: PolicyExcellent}, "abcdEF12gh", true},
		{"excellent: nine characters", ConnectionOptions{PasswordPolicy: PolicyExcellent}, "abcdEF12g", false},
		{"excellent: two identical in a row", ConnectionOptions{PasswordPolicy: PolicyExcellent}, "aabbEF12gh", true},
		{"excellent: three identical in a row", ConnectionOptions{PasswordPolicy: PolicyExcellent}, "aaabEF12gh", false},
		{"excellent: three identical apart", ConnectionOptions{PasswordPolicy: PolicyExcellent}, "abaEaF12ga", true},
		{"excellent: two types", ConnectionOptions{PasswordPolicy: PolicyExcellent}, "abcdefgh12", false},
		{"min length raises none", ConnectionOptions{MinLength: 12}, "abcdefghijk", false},
		{"min length reached", ConnectionOptions{MinLength: 12}, "abcdefghijkl", true},
		{"min length replaces excellent's ten", ConnectionOptions{PasswordPolicy: PolicyExcellent, MinLength: 8}, "abcdEF12", true},
		{"min length keeps the types rule", ConnectionOptions{PasswordPolicy: PolicyExcellent, MinLength: 8}, "abcdefgh", false},
	}
	for _, tc := range tests {
		opts := tc.opts.withDefaults()
		if got := opts.strongEnough(tc.password); got != tc.want {
			t.Errorf("%s: %q strong enough %v, want %v", tc.name, tc.password, got, tc.want)
		}
	}
}

func TestPasswordOptionsRefuse(t *testing.T) {
	who := personalData{email: "ada.l@example.com", name: "Ada Lovelace", username: "countess", nickname: "ada.l",
		userMetadata: map[string]any{"first": "Augusta", "last": "King", "name": 1815}}
	all := ConnectionOptions{PasswordDictionary: true, DictionaryEntries: []string{"Analytical-Engine-1843"},
		NoPersonalInfo: true, PasswordHistory: 2}.withDefaults()
	history := [][32]byte{hashPassword("Oldest-Pass-1"), hashPassword("Older-Pass-2"), hashPassword("Current-Pass-3")}
	tests := []struct {
		name     string
		opts     ConnectionOptions
		password string
		want     *passwordRule
	}{
		{"fine", all, "Difference-Engine-9", nil},
		{"built-in dictionary, any case", all, "PassWord1", &ruleDictionary},
		{"custom dictionary entry", all, "analytical-engine-1843", &ruleDictionary},
		{"dictionary entry inside a longer password", all, "xPassword1x", nil},
		{"dictionary off", ConnectionOptions{}.withDefaults(), "password1", nil},
		{"email local part", all, "my-ADA.L-pass", &rulePersonal},
		{"name", all, "ada lovelace!", &rulePersonal},
		{"username", all, "Countess-99", &rulePersonal},
		{"user_metadata.first", all, "augusta2024", &rulePersonal},
		{"user_metadata.last", all, "KingsCross9", &rulePersonal},
		{"user_metadata.name that is not a string", all, "pass1815word", nil},
		{"part of the local part is allowed", all, "ada-rocks-1", nil},
		{"personal data off", ConnectionOptions{}.withDefaults(), "Countess-99", nil},
		{"current password", all, "Current-Pass-3", &ruleHistory},
		{"previous password", all, "Older-Pass-2", &ruleHistory},
		{"beyond the history size", all, "Oldest-Pass-1", nil},
		{"history off", ConnectionOptions{}.withDefaults(), "Current-Pass-3", nil},
		{"strength comes first", ConnectionOptions{PasswordPolicy: PolicyGood, PasswordDictionary: true}.withDefaults(), "password", &ruleStrength},
	}
	for _, tc := range tests {
		got := tc.opts.checkPassword(tc.password, who, history)
		if got != tc.want {
			t.Errorf("%s: %q refused by %v, want %v", tc.name, tc.password, got, tc.want)
		}
	}
}

// TestPasswordPoliciesOverAPI creates and updates users under a connection
// per policy and checks the Management API's answers: status, body and
// what is stored.
func TestPasswordPoliciesOverAPI(t *testing.T) {
	conns := []string{"None", "Low", "Fair", "Good", "Excellent", "Strict"}
	tn := NewT(t, Config{Connections: conns, ConnectionOptions: map[string]ConnectionOptions{
		"Low":       {PasswordPolicy: PolicyLow},
		"Fair":      {PasswordPolicy: PolicyFair},
		"Good":      {PasswordPolicy: PolicyGood},
		"Excellent": {PasswordPolicy: PolicyExcellent},
		"Strict": {PasswordPolicy: PolicyExcellent, MinLength: 16, PasswordHistory: 2, PasswordDictionary: true,
			DictionaryEntries: []string{"Correct-Horse-Battery-9"}, NoPersonalInfo: true},
	}})
	c := httpClient(tn, 5*time.Second)
	tok := token(t, tn, c)
	const strong = "Tr0ub4dor&3-Zebra-Stapler"

	creates := []struct {
		name, connection, password string
		wantStatus                 int
		wantMessage                string
	}{
		{"none takes one character", "None", "x", 201, ""},
		{"none refuses empty by schema", "None", "", 400,
			"Payload validation error: 'String is too short (0 chars), minimum 1' on property password (Initial password for this user. Only valid for auth0 connection strategy)."},
		{"low refuses five", "Low", "abcde", 400, "PasswordStrengthError: Password is too weak"},
		{"low takes six", "Low", "abcdef", 201, ""},
		{"fair refuses no digit", "Fair", "abcdEFGH", 400, "PasswordStrengthError: Password is too weak"},
		{"fair takes", "Fair", "abcdEF12", 201, ""},
		{"good refuses two types", "Good", "abcd1234", 400, "PasswordStrengthError: Password is too weak"},
		{"good takes", "Good", "abcd12!!", 201, ""},
		{"excellent refuses a triple", "Excellent", "aaabEF12gh", 400, "PasswordStrengthError: Password is too weak"},
		{"excellent takes", "Excellent", "abcdEF12gh", 201, ""},
		{"strict refuses short", "Strict", "abcdEF12gh!", 400, "PasswordStrengthError: Password is too weak"},
		{"strict refuses the dictionary", "Strict", "correct-horse-battery-9", 400, "PasswordDictionaryError: Password is too common"},
		{"strict refuses the email", "Strict", "Secret-{{local}}-Pass-1", 400, "PasswordNoUserInfoError: Password contains user information"},
		{"strict takes", "Strict", strong, 201, ""},
	}
	for i, tc := range creates {
		local := "user" + string(rune('a'+i))
		body := map[string]any{"connection": tc.connection, "email": local + "@example.com",
			"password": strings.ReplaceAll(tc.password, "{{local}}", local)}
		resp := call(t, c, http.MethodPost, tn.URL()+"/api/v2/users", tok, body)
		if resp.status != tc.wantStatus {
			t.Errorf("%s: status %d (%s), want %d", tc.name, resp.status, resp.body, tc.wantStatus)
			continue
		}
		if tc.wantStatus != http.StatusCreated {
			got := resp.json(t)
			_, hasCode := got["errorCode"]
			wantCode := strings.HasPrefix(tc.wantMessage, "Payload")
			if got["message"] != tc.wantMessage || got["statusCode"] != 400.0 || got["error"] != "Bad Request" || hasCode != wantCode {
				t.Errorf("%s: body %s, want message %q", tc.name, resp.body, tc.wantMessage)
			}
		}
	}

	// History through PATCH: the last two passwords are refused, the one
	// before them is free again.
	ada := call(t, c, http.MethodPost, tn.URL()+"/api/v2/users", tok, map[string]any{
		"connection": "Strict", "email": "ada@example.com", "password": "First-Password-1!"}).json(t)
	id, _ := ada["user_id"].(string)
	steps := []struct {
		name, password string
		wantStatus     int
		wantMessage    string
	}{
		{"change", "Second-Password-2!", 200, ""},
		{"back to the first: within two", "First-Password-1!", 400, "PasswordHistoryError: Password has previously been used"},
		{"the current one", "Second-Password-2!", 400, "PasswordHistoryError: Password has previously been used"},
		{"a third", "Third-Password-3!", 200, ""},
		{"the first, now three back", "First-Password-1!", 200, ""},
		{"weak", "short", 400, "PasswordStrengthError: Password is too weak"},
		{"personal", "Ada-Is-Counting-1", 400, "PasswordNoUserInfoError: Password contains user information"},
	}
	for _, st := range steps {
		resp := call(t, c, http.MethodPatch, userURL(tn, id), tok, map[string]any{"password": st.password, "connection": "Strict"})
		if resp.status != st.wantStatus || st.wantMessage != "" && resp.json(t)["message"] != st.wantMessage {
			t.Errorf("patch %s: status %d (%s), want %d %q", st.name, resp.status, resp.body, st.wantStatus, st.wantMessage)
		}
	}
	if !tn.CheckPassword(id, "First-Password-1!") {
		t.Errorf("after the steps the password is not the last one accepted")
	}
	// Personal data is read from the user as the PATCH leaves it.
	resp := call(t, c, http.MethodPatch, userURL(tn, id), tok, map[string]any{"password": "Byron-Daughter-1!", "name": "Byron"})
	if resp.status != http.StatusBadRequest {
		t.Errorf("password with the name set in the same PATCH: status %d (%s), want 400", resp.status, resp.body)
	}
	if u, _ := tn.User(id); u.Name == "Byron" {
		t.Errorf("a refused PATCH changed the name")
	}
}

func TestPasswordTruncatedAt72Bytes(t *testing.T) {
	tn := NewT(t, Config{})
	long := strings.Repeat("k", 72)
	u := tn.AddUser(UserSeed{Email: "ada@example.com", Password: long + "-ignored"})
	if !tn.CheckPassword(u.ID, long) || !tn.CheckPassword(u.ID, long+"-anything") || tn.CheckPassword(u.ID, long[:71]) {
		t.Errorf("a password is not read up to its 72nd byte only")
	}
}

func TestConnectionOptionsValidated(t *testing.T) {
	tests := []struct {
		name string
		cfg  Config
		want []string // substrings of the one error
	}{
		{"unknown policy", Config{ConnectionOptions: map[string]ConnectionOptions{DefaultConnection: {PasswordPolicy: "strong"}}},
			[]string{`password policy "strong"`}},
		{"every problem at once", Config{ConnectionOptions: map[string]ConnectionOptions{DefaultConnection: {
			MinLength: 73, PasswordHistory: 25, UsernameMin: 10, UsernameMax: 5}}},
			[]string{"min length 73", "password history 25", "username length 10 to 5"}},
		{"dictionary entry too long", Config{ConnectionOptions: map[string]ConnectionOptions{DefaultConnection: {
			DictionaryEntries: []string{strings.Repeat("x", 51)}}}}, []string{"dictionary entry"}},
		{"connection the tenant lacks", Config{ConnectionOptions: map[string]ConnectionOptions{"Staff": {}}},
			[]string{`options for "Staff"`}},
	}
	for _, tc := range tests {
		tn, err := Start(tc.cfg)
		if err == nil {
			tn.Close()
			t.Errorf("%s: started, want an error", tc.name)
			continue
		}
		for _, w := range tc.want {
			if !strings.Contains(err.Error(), w) {
				t.Errorf("%s: error %q lacks %q", tc.name, err, w)
			}
		}
	}
}
