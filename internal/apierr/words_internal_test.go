package apierr

import (
	"slices"
	"strings"
	"testing"
	"unicode"
)

// TestWords: identifiers and sentences split the way a person reads them.
func TestWords(t *testing.T) {
	tests := map[string]string{
		"x-api-key":                        "x api key",
		"API_KEY_INVALID":                  "api key invalid",
		"keyInvalid":                       "key invalid",
		"AccessTokenInvalid":               "access token invalid",
		"InvalidAccessKeyId":               "invalid access key id",
		"APIKey":                           "api key",
		"IPs":                              "ips",
		"HTTPServerError":                  "http server error",
		"v2Token":                          "v2 token",
		"see https://x.example/rate-limit": "see",
		"www.example.com/expired ok":       "ok",
		"é-key":                            "key",
		"":                                 "",
	}
	for in, want := range tests {
		if got := strings.Join(words(in), " "); got != want {
			t.Errorf("words(%q) = %q, want %q", in, got, want)
		}
	}
}

// TestClauses: a clause ends at . ; ! ? : followed by a space or the end,
// except a colon right after a key noun.
func TestClauses(t *testing.T) {
	tests := map[string][]string{
		"API key not valid. Please pass a valid API key.": {"api key not valid", "please pass a valid api key"},
		"invalid request: message must be 1 token long":   {"invalid request", "message must be 1 token long"},
		"Your API key: sk-1 is invalid":                   {"your api key sk 1 is invalid"},
		"1.2.3.4 at 06:29:46 is fine":                     {"1 2 3 4 at 06 29 46 is fine"},
		"a;b! c? d\te.\n":                                 {"a b", "c", "d e"},
		"stop.":                                           {"stop"},
		": ;":                                             nil,
	}
	for in, want := range tests {
		var got []string
		for _, c := range clauses(in) {
			got = append(got, strings.Join(c, " "))
		}
		if !slices.Equal(got, want) {
			t.Errorf("clauses(%q) = %q, want %q", in, got, want)
		}
	}
}

// TestKeyNoun: "key" is the credential only after a qualifier that makes
// it one.
func TestKeyNoun(t *testing.T) {
	tests := map[string]bool{
		"key": true, "api key": true, "the key": true, "invalid key": true, "subscription key": true,
		"idempotency key": false, "specified key": false, "metadata keys": false,
		"token": true, "credentials": true, "apikey": true, "secret": true, "session": true,
		"password": false, "user": false,
	}
	for in, want := range tests {
		w := words(in)
		if got := isKeyNoun(w, len(w)-1); got != want {
			t.Errorf("isKeyNoun(%q) = %v, want %v", in, got, want)
		}
	}
}

// TestIsIdentifier: a single token with a letter or digit, at most 128
// bytes.
func TestIsIdentifier(t *testing.T) {
	tests := map[string]bool{
		"invalid_token": true, "KT-CT-7423": true, "Unauthorized": true, "000": true,
		"Invalid API Key": false, "": false, "---": false, strings.Repeat("a", 128): true,
		strings.Repeat("a", 129): false, "a\tb": false,
	}
	for in, want := range tests {
		if got := isIdentifier(in); got != want {
			t.Errorf("isIdentifier(%q) = %v, want %v", in, got, want)
		}
	}
}

// TestNameRanks: names are classified by what they say.
func TestNameRanks(t *testing.T) {
	for n, want := range map[string]int{
		"message": rankMessage, "msg": rankMessage, "errormessage": rankErrorMessage,
		"errordescription": rankErrorMessage, "errorsummary": rankErrorMessage, "errmsg": rankErrorMessage,
		"faultstring": rankErrorMessage, "faultmessage": rankErrorMessage, "detail": rankDetail, "details": rankDetail,
		"description": rankDetail, "usermessage": rankDetail, "hint": none, "documentationurl": none,
	} {
		if got := messageRank(n); got != want {
			t.Errorf("messageRank(%q) = %d, want %d", n, got, want)
		}
	}
	for n, want := range map[string]int{
		"code": rankCode, "errorcode": rankCode, "errcode": rankCode, "serviceerrorcode": rankSubCode,
		"faultcode": rankSubCode, "statuscode": none, "countrycode": none, "errortype": rankErrorType,
		"category": rankCategory, "reason": rankReason, "status": rankStatus, "name": rankName,
		"type": rankType, "errorlink": none,
	} {
		if got := codeRank(n, n); got != want {
			t.Errorf("codeRank(%q) = %d, want %d", n, got, want)
		}
	}
	for n, want := range map[string]int{
		"requestid": rankRequestID, "xrequestid": rankRequestID, "correlationid": rankCorrelationID,
		"fbtraceid": rankTraceID, "errorid": rankOtherID, "incidentid": rankOtherID,
		"transactionid": rankOtherID, "id": none, "request": none,
	} {
		if got := requestIDRank(n); got != want {
			t.Errorf("requestIDRank(%q) = %d, want %d", n, got, want)
		}
	}
	if codeRank("__type", "type") != rankCode || codeRank(".tag", "tag") != rankCode {
		t.Errorf("__type and .tag are codes")
	}
	if got := normName("Error-Description_2"); got != "errordescription2" {
		t.Errorf("normName = %q", got)
	}
}

// TestHeaderIDRank: which response headers hold a request ID.
func TestHeaderIDRank(t *testing.T) {
	for name, want := range map[string]int{
		"X-Request-Id": rankHeaderRequestID, "Request-Id": rankHeaderRequestID,
		"X-Github-Request-Id": rankHeaderPrefixedRequestID, "X-Amzn-Requestid": rankHeaderPrefixedRequestID,
		"X-Correlation-Id": rankHeaderCorrelationID, "X-Trace-Id": rankHeaderTraceID,
		"X-Debug-Id": rankHeaderTraceID, "X-Transaction-Id": rankHeaderTraceID, "X-Mbx-Uuid": rankHeaderUUID,
		"X-Client-Request-Id": none, "Content-Type": none, "Cf-Ray": none,
	} {
		if got := headerIDRank(name); got != want {
			t.Errorf("headerIDRank(%q) = %d, want %d", name, got, want)
		}
	}
}

// TestCharClasses: the ASCII classes agree with unicode on every byte.
func TestCharClasses(t *testing.T) {
	for c := range 256 {
		b, r := byte(c), rune(c)
		ascii := c < 0x80
		if got, want := isDigit(b), ascii && unicode.IsDigit(r); got != want {
			t.Errorf("isDigit(%q) = %v", r, got)
		}
		if got, want := isLower(b), ascii && unicode.IsLower(r); got != want {
			t.Errorf("isLower(%q) = %v", r, got)
		}
		if got, want := isUpper(b), ascii && unicode.IsUpper(r); got != want {
			t.Errorf("isUpper(%q) = %v", r, got)
		}
		if got, want := isAlnum(b), ascii && (unicode.IsLetter(r) || unicode.IsDigit(r)); got != want {
			t.Errorf("isAlnum(%q) = %v", r, got)
		}
	}
}

// TestTypeName: the name in a typed error, without namespace or URI.
func TestTypeName(t *testing.T) {
	for in, want := range map[string]string{
		"com.example#InvalidKey":         "InvalidKey",
		"#InvalidKey":                    "InvalidKey",
		"InvalidKey:http://example.com/": "InvalidKey",
		":http://example.com/":           "",
		"a#b#InvalidKey:x":               "InvalidKey",
		"InvalidKey":                     "InvalidKey",
	} {
		if got := typeName(in); got != want {
			t.Errorf("typeName(%q) = %q, want %q", in, got, want)
		}
	}
}
