package apierr_test

import (
	"net/http"
	"strings"
	"testing"

	"github.com/rekeyhq/rekey/internal/apierr"
)

// TestDecodeSameNameTwice: of two members whose names differ only in case
// or punctuation, the all-lowercase one counts, whatever the map order.
func TestDecodeSameNameTwice(t *testing.T) {
	for range 64 {
		e := apierr.Decode(401, nil, []byte(`{"Message":"upper","message":"lower","MESSAGE":"caps","error_Code":"b","Error_Code":"a"}`))
		if e.Message != "lower" || e.Code != "a" {
			t.Fatalf("took message %q and code %q, want lower and a", e.Message, e.Code)
		}
	}
}

// TestDecodeByStructure: where the error object is and which member says
// what, by name and by shape, whatever the API.
func TestDecodeByStructure(t *testing.T) {
	tests := []struct {
		name             string
		status           int
		header           http.Header
		body             string
		code, msg, reqID string
	}{
		{name: "a sentence alone in error is the message", status: 401, body: `{"error":"The access token is invalid"}`, msg: "The access token is invalid"},
		{name: "an identifier alone in error is the code", status: 401, body: `{"error":"invalid_token"}`, code: "invalid_token"},
		{name: "a sentence in error beside a message is the code", status: 401, body: `{"error":"Invalid API Key","message":"m"}`, code: "Invalid API Key", msg: "m"},
		{name: "a sentence in error beside an error object", status: 401, body: `{"error":"Bad","fault":{"faultstring":"f"}}`, code: "Bad", msg: "f"},
		{name: "error_description before message", status: 401, body: `{"message":"generic","error_description":"specific"}`, msg: "specific"},
		{name: "message before detail", status: 401, body: `{"detail":"d","message":"m"}`, msg: "m"},
		{name: "err_msg and err_code", status: 401, body: `{"err_code":"INVALID_AUTH","err_msg":"Invalid credentials."}`, code: "INVALID_AUTH", msg: "Invalid credentials."},
		{name: "errorSummary and errorId", status: 401, body: `{"errorCode":"E1","errorSummary":"Invalid token provided","errorId":"oae1"}`, code: "E1", msg: "Invalid token provided", reqID: "oae1"},
		{name: "a top-level array", status: 401, body: `[{"message":"Session expired or invalid","errorCode":"INVALID_SESSION_ID"}]`, code: "INVALID_SESSION_ID", msg: "Session expired or invalid"},
		{name: "an empty top-level array", status: 401, body: `[]`},
		{name: "a bare JSON string", status: 401, body: `"Unauthorized"`, msg: "Unauthorized"},
		{name: "fault with a code under detail", status: 401, body: `{"fault":{"faultstring":"Invalid ApiKey","detail":{"errorcode":"oauth.v2.InvalidApiKey"}}}`, code: "oauth.v2.InvalidApiKey", msg: "Invalid ApiKey"},
		{name: "detail as an object with status and message", status: 401, body: `{"detail":{"status":"invalid_api_key","message":"Invalid API key"}}`, code: "invalid_api_key", msg: "Invalid API key"},
		{name: "message as an object", status: 401, body: `{"code":"InvalidCredentials","message":{"error":1102,"message":"The API key provided is invalid."}}`, code: "InvalidCredentials", msg: "The API key provided is invalid."},
		{name: "a wrapper's type does not hide the inner code", status: 401, body: `{"type":"error.list","errors":[{"code":"token_not_found","message":"Unauthorized"}]}`, code: "token_not_found", msg: "Unauthorized"},
		{name: "a wrapper's status stays beside a list's reason", status: 403, body: `{"error":{"message":"m","status":"PERMISSION_DENIED","errors":[{"reason":"forbidden"}]}}`, code: "PERMISSION_DENIED", msg: "m"},
		{name: "the inner error's own code wins over the outer", status: 401, body: `{"code":"outer","error":{"code":"inner","message":"m"}}`, code: "inner", msg: "m"},
		{name: "an outer code fills what the inner lacks", status: 401, body: `{"code":"outer","error":{"message":"m"}}`, code: "outer", msg: "m"},
		{name: "the outer code of a better class", status: 401, body: `{"code":"outer","error":{"type":"t","message":"m"}}`, code: "outer", msg: "m"},
		{name: "an inner error's request ID", status: 401, body: `{"error":{"code":"c","message":"m","innerError":{"request-id":"r-1","date":"2018"}}}`, code: "c", msg: "m", reqID: "r-1"},
		{name: "a request ID beside the error, in meta", status: 403, body: `{"error":{"code":"invalid_token","detail":"d"},"meta":{"request_id":"r-2"}}`, code: "invalid_token", msg: "d", reqID: "r-2"},
		{name: "a request ID beats a trace ID", status: 401, body: `{"fbtrace_id":"t","request_id":"r"}`, reqID: "r"},
		{name: "a trace ID beats an error ID", status: 401, body: `{"errorId":"e","trace_id":"t"}`, reqID: "t"},
		{name: "a correlation ID beats a trace ID", status: 401, body: `{"traceId":"t","correlation_id":"c"}`, reqID: "c"},
		{name: "an object declaring itself an error", status: 401, body: `{"sys":{"type":"Error","id":"AccessTokenInvalid"},"message":"m"}`, code: "AccessTokenInvalid", msg: "m"},
		{name: "an object that is not an error", status: 401, body: `{"sys":{"type":"Entry","id":"abc"},"message":"m"}`, msg: "m"},
		{name: "GraphQL extensions code", status: 200, body: `{"data":null,"errors":[{"message":"m","extensions":{"code":"UNAUTHENTICATED"}}]}`, code: "UNAUTHENTICATED", msg: "m"},
		{name: "GraphQL extensions errorCode beats errorType", status: 200, body: `{"errors":[{"message":"m","extensions":{"errorType":"AUTHORIZATION","errorCode":"KT-1"}}]}`, code: "KT-1", msg: "m"},
		{name: "__type without its namespace", status: 400, body: `{"__type":"com.example.service#UnrecognizedClientException:http://internal","message":"m"}`, code: "UnrecognizedClientException", msg: "m"},
		{name: ".tag is a code", status: 401, body: `{"error_summary":"expired_access_token/.","error":{".tag":"expired_access_token"}}`, code: "expired_access_token", msg: "expired_access_token/."},
		{name: "serviceErrorCode when there is no code", status: 401, body: `{"serviceErrorCode":65600,"message":"m","status":401}`, code: "65600", msg: "m"},
		{name: "code before serviceErrorCode", status: 401, body: `{"serviceErrorCode":65601,"code":"REVOKED_ACCESS_TOKEN","message":"m"}`, code: "REVOKED_ACCESS_TOKEN", msg: "m"},
		{name: "a string code repeating the status is left out", status: 401, body: `{"error":{"code":"401","message":"m"}}`, msg: "m"},
		{name: "a generic type is no code", status: 401, body: `{"type":"error","message":"m"}`, msg: "m"},
		{name: "a URI type is no code", status: 401, body: `{"type":"https://example.com/errors/x","title":"API Key Invalid","detail":"d"}`, code: "API Key Invalid", msg: "d"},
		{name: "a numeric status is no code", status: 401, body: `{"status":"403","message":"m"}`, msg: "m"},
		{name: "a sentence in status is no code", status: 401, body: `{"status":"not good at all","message":"m"}`, msg: "m"},
		{name: "a name that is an identifier", status: 401, body: `{"statusCode":401,"message":"API key is invalid","name":"validation_error"}`, code: "validation_error", msg: "API key is invalid"},
		{name: "title alone is the message", status: 401, body: `{"title":"Unauthorized"}`, msg: "Unauthorized"},
		{name: "errors as a list of strings after a message", status: 401, body: `{"errors":["a"],"message":"m"}`, msg: "m"},
		{name: "google.rpc.RequestInfo", status: 400, body: `{"error":{"message":"m","details":[{"@type":"type.googleapis.com/google.rpc.RequestInfo","requestId":"g-1"},"x"]}}`, msg: "m", reqID: "g-1"},
		{name: "names differing in punctuation only", status: 401, body: `{"error_code":"a","errorCode":"b"}`, code: "a"},
		{name: "JSON with trailing data is text", status: 401, body: `{"a":1} {"b":2}`, msg: `{"a":1} {"b":2}`},
		{name: "a byte order mark is skipped", status: 401, body: "\ufeff{\"message\":\"m\"}", msg: "m"},
		{name: "a sentence in error beside a detail is the code", status: 401, body: `{"error":"Some sentence here","detail":"d"}`, code: "Some sentence here", msg: "d"},
		{name: "a sentence in error beside an errors text is the message", status: 401, body: `{"error":"Some sentence here","errors":"e"}`, msg: "Some sentence here"},
		{name: "nesting at the depth bound is read", status: 401, body: strings.Repeat(`{"error":`, 8) + `{"message":"deep"}` + strings.Repeat(`}`, 8), msg: "deep"},
		{name: "nesting past the depth bound is not", status: 401, body: strings.Repeat(`{"error":`, 9) + `{"message":"deep"}` + strings.Repeat(`}`, 9)},
		{name: "message objects past the depth bound", status: 401, body: strings.Repeat(`{"message":`, 20) + `"deep"` + strings.Repeat(`}`, 20)},
		{name: "error as a list", status: 401, body: `{"error":[{"message":"m","code":"c"}]}`, code: "c", msg: "m"},
		{name: "a numeric code in extensions", status: 200, body: `{"errors":[{"message":"m","extensions":{"code":40101}}]}`, code: "40101", msg: "m"},
		{name: "names differing in punctuation, both lower-case", status: 401, body: `{"errorcode":"b","error_code":"a"}`, code: "a"},
		{name: "names differing in punctuation, neither lower-case", status: 401, body: `{"ErrorCode":"b","ERROR_CODE":"a"}`, code: "a"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := apierr.Decode(tt.status, tt.header, []byte(tt.body))
			if e.Code != tt.code || e.Message != tt.msg || e.RequestID != tt.reqID {
				t.Errorf("got code %q message %q request ID %q\nwant code %q message %q request ID %q", e.Code, e.Message, e.RequestID, tt.code, tt.msg, tt.reqID)
			}
		})
	}
}

// TestDecodeOtherFormats: XML documents, HTML pages, text, and the
// WWW-Authenticate challenge.
func TestDecodeOtherFormats(t *testing.T) {
	html := http.Header{"Content-Type": {"text/html; charset=utf-8"}}
	tests := []struct {
		name             string
		status           int
		header           http.Header
		body             string
		code, msg, reqID string
	}{
		{name: "XML error document", status: 403, body: `<?xml version="1.0"?><Error><Code>InvalidAccessKeyId</Code><Message>The key does not exist.</Message><RequestId>R1</RequestId></Error>`, code: "InvalidAccessKeyId", msg: "The key does not exist.", reqID: "R1"},
		{name: "XML request ID outside the error", status: 403, body: "<ErrorResponse>\n <Error><Type>Sender</Type><Code>ExpiredToken</Code><Message>m</Message></Error>\n <RequestId>R2</RequestId>\n</ErrorResponse>", code: "ExpiredToken", msg: "m", reqID: "R2"},
		{name: "XML SOAP-style fault", status: 500, body: `<Fault><faultcode>Client.Auth</faultcode><faultstring>Invalid key</faultstring></Fault>`, code: "Client.Auth", msg: "Invalid key"},
		{name: "XML entities", status: 403, body: `<Error><Code>X</Code><Message>a &amp; b</Message></Error>`, code: "X", msg: "a & b"},
		{name: "XML broken midway keeps what it read", status: 403, body: `<Error><Code>X</Code><Message>m</Mess`, code: "X"},
		{name: "XML that is not an error", status: 403, body: `<root><item>1</item></root>`},
		{name: "HTML title less the status", status: 401, header: html, body: "<html><head><title>401 Authorization Required</title></head><body></body></html>", msg: "Authorization Required"},
		{name: "HTML title with tags and entities", status: 403, body: "<!DOCTYPE html><html><head><title data-x=\"1\">Attention Required! &amp; <b>more</b></title></head></html>", msg: "Attention Required! & more"},
		{name: "HTML by its first bytes", status: 401, body: "<HTML><TITLE>Unauthorized (401)</TITLE></HTML>", msg: "Unauthorized (401)"},
		{name: "HTML h1 without a title", status: 401, header: html, body: "<html><body><h1 class=\"x\">Token expired</h1></body></html>", msg: "Token expired"},
		{name: "HTML title that is only the status", status: 401, header: html, body: "<html><title>401</title></html>"},
		{name: "HTML tag that only starts with title", status: 401, header: html, body: "<html><titles>no</titles><title>yes</title></html>", msg: "yes"},
		{name: "HTML without an end tag", status: 401, header: html, body: "<html><title>never closed"},
		{name: "HTML without a closing bracket", status: 401, header: html, body: "<html><title"},
		{name: "HTML start tag never closed", status: 401, header: html, body: "<html><title lang=en"},
		{name: "xhtml content type", status: 401, header: http.Header{"Content-Type": {"application/xhtml+xml"}}, body: "<html><title>t</title></html>", msg: "t"},
		{name: "text", status: 401, body: "invalid token\n", msg: "invalid token"},
		{name: "challenge with an empty body", status: 401, header: http.Header{"Www-Authenticate": {`Bearer realm="x", error="invalid_token", error_description="The access token expired"`}}, code: "invalid_token", msg: "The access token expired"},
		{name: "challenge with escapes and a token value", status: 401, header: http.Header{"Www-Authenticate": {`Bearer error=invalid_token, error_description="say \"hi\""`}}, code: "invalid_token", msg: `say "hi"`},
		{name: "challenge fills only the gaps", status: 401, header: http.Header{"Www-Authenticate": {`Bearer error="invalid_token", error_description="d"`}}, body: `{"message":"m"}`, code: "invalid_token", msg: "m"},
		{name: "challenge param names are whole", status: 401, header: http.Header{"Www-Authenticate": {`Bearer xerror="no", error ="yes"`}}, code: "yes"},
		{name: "challenge without error", status: 401, header: http.Header{"Www-Authenticate": {`Basic realm="x"`}}},
		{name: "challenge in a second value", status: 401, header: http.Header{"Www-Authenticate": {`Basic realm="x"`, `Bearer error="invalid_token"`}}, code: "invalid_token"},
		{name: "challenge cut short", status: 401, header: http.Header{"Www-Authenticate": {`Bearer error="unterminated`}}, code: "unterminated"},
		{name: "challenge with a dangling name", status: 401, header: http.Header{"Www-Authenticate": {`Bearer error`}}},
		{name: "challenge with a name and spaces to the end", status: 401, header: http.Header{"Www-Authenticate": {`Bearer error  `}}},
		{name: "challenge with a name and no value", status: 401, header: http.Header{"Www-Authenticate": {`Bearer error=`}}},
		{name: "challenge with an empty token value", status: 401, header: http.Header{"Www-Authenticate": {`Bearer error= , error_description="d"`}}, msg: "d"},
		{name: "challenge ending in a backslash", status: 401, header: http.Header{"Www-Authenticate": {`Bearer error="x\`}}, code: "x"},
		{name: "challenge gives the message a body lacks", status: 401, header: http.Header{"Www-Authenticate": {`Bearer error="e", error_description="d"`}}, body: `{"code":"c"}`, code: "c", msg: "d"},
		{name: "HTML title at the very start", status: 401, header: html, body: "<title>T</title>", msg: "T"},
		{name: "HTML cut right after the end tag's name", status: 401, header: html, body: "<title>T</title", msg: "T"},
		{name: "HTML tags in any case", status: 401, header: html, body: "<TiTlE>T</tItLe>", msg: "T"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := apierr.Decode(tt.status, tt.header, []byte(tt.body))
			if e.Code != tt.code || e.Message != tt.msg || e.RequestID != tt.reqID {
				t.Errorf("got code %q message %q request ID %q\nwant code %q message %q request ID %q", e.Code, e.Message, e.RequestID, tt.code, tt.msg, tt.reqID)
			}
		})
	}
}

// TestRequestIDHeaders: any header whose name says it holds a request ID,
// the most specific first, then the body, then a CDN's ID.
func TestRequestIDHeaders(t *testing.T) {
	tests := []struct {
		name   string
		header http.Header
		body   string
		want   string
	}{
		{"x-request-id", http.Header{"X-Request-Id": {"a"}}, "", "a"},
		{"vendor prefixed", http.Header{"X-Example-Request-Id": {"b"}}, "", "b"},
		{"exact beats prefixed", http.Header{"X-Example-Request-Id": {"b"}, "Request-Id": {"a"}}, "", "a"},
		{"request beats correlation", http.Header{"X-Correlation-Id": {"c"}, "Apim-Request-Id": {"r"}}, "", "r"},
		{"correlation beats trace", http.Header{"X-Trace-Id": {"t"}, "X-Correlation-Id": {"c"}}, "", "c"},
		{"trace beats uuid", http.Header{"X-Mbx-Uuid": {"u"}, "X-Debug-Id": {"d"}}, "", "d"},
		{"transaction id", http.Header{"X-Transaction-Id": {"x"}}, "", "x"},
		{"uuid", http.Header{"X-Mbx-Uuid": {"u"}}, "", "u"},
		{"ties by name", http.Header{"X-B-Request-Id": {"b"}, "X-A-Request-Id": {"a"}}, "", "a"},
		{"client echo skipped", http.Header{"Client-Request-Id": {"mine"}, "X-Ms-Client-Request-Id": {"mine"}}, "", ""},
		{"empty value skipped", http.Header{"X-Request-Id": {""}, "X-Trace-Id": {"t"}}, "", "t"},
		{"no values skipped", http.Header{"X-Request-Id": {}}, "", ""},
		{"a repeated value", http.Header{"X-Request-Id": {"6200fe63e9800cad-EWR, 6200fe63e9800cad-EWR"}}, "", "6200fe63e9800cad-EWR"},
		{"header beats body", http.Header{"X-Request-Id": {"h"}}, `{"request_id":"b"}`, "h"},
		{"body beats the CDN", http.Header{"Cf-Ray": {"ray"}}, `{"request_id":"b"}`, "b"},
		{"the CDN last", http.Header{"Cf-Ray": {"ray-1, ray-2"}}, `{}`, "ray-1"},
		{"the second CDN", http.Header{"X-Amz-Cf-Id": {"cf"}}, ``, "cf"},
		{"other headers", http.Header{"Content-Type": {"application/json"}, "X-Ratelimit-Remaining": {"9"}}, ``, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := apierr.Decode(401, tt.header, []byte(tt.body)).RequestID; got != tt.want {
				t.Errorf("RequestID = %q, want %q", got, tt.want)
			}
		})
	}
	// Map order changes from one range to the next: the same headers give
	// the same ID every time.
	tie := http.Header{"X-C-Trace-Id": {"c"}, "X-A-Trace-Id": {"a"}, "X-B-Trace-Id": {"b"}, "X-D-Trace-Id": {"d"}}
	for range 64 {
		if got := apierr.Decode(401, tie, nil).RequestID; got != "a" {
			t.Fatalf("of four trace IDs took %q, want the first by name", got)
		}
	}
}

// TestDecodeBoundedWork: deep nesting and long documents cost work in
// proportion to the body, and what is kept stays bounded.
func TestDecodeBoundedWork(t *testing.T) {
	deepList := strings.Repeat(`{"errors":[`, 40) + `{"message":"deep"}` + strings.Repeat(`]}`, 40)
	if e := apierr.Decode(401, nil, []byte(deepList)); e.Message != "" {
		t.Errorf("followed errors lists past the depth bound: %q", e.Message)
	}
	deepXML := strings.Repeat("<a>", 100) + "<Message>deep</Message>" + strings.Repeat("</a>", 100)
	if e := apierr.Decode(403, nil, []byte(deepXML)); e.Message != "" {
		t.Errorf("read XML past the depth bound: %q", e.Message)
	}
	manyXML := "<r>" + strings.Repeat("<x>1</x>", 5000) + "<Message>late</Message></r>"
	if e := apierr.Decode(403, nil, []byte(manyXML)); e.Message != "" {
		t.Errorf("read XML past the token bound: %q", e.Message)
	}
	xmlHeader := http.Header{"Content-Type": {"application/xml"}}
	// The message's end tag is the 4096th token (each <x/> is two).
	atTokenBound := "<Error>" + strings.Repeat("<x/>", 2046) + "<Message>late</Message></Error>"
	if e := apierr.Decode(403, xmlHeader, []byte(atTokenBound)); e.Message != "late" {
		t.Errorf("the 4096th XML token not read: %q", e.Message)
	}
	pastTokenBound := "<Error> " + strings.Repeat("<x/>", 2046) + "<Message>late</Message></Error>"
	if e := apierr.Decode(403, xmlHeader, []byte(pastTokenBound)); e.Message != "" {
		t.Errorf("read the 4097th XML token: %q", e.Message)
	}
	atDepth := strings.Repeat("<a>", 31) + "<Message>deep</Message>" + strings.Repeat("</a>", 31)
	if e := apierr.Decode(403, xmlHeader, []byte(atDepth)); e.Message != "deep" {
		t.Errorf("XML element at depth 32 not read: %q", e.Message)
	}
	pastDepth := strings.Repeat("<a>", 32) + "<Message>deep</Message>" + strings.Repeat("</a>", 32)
	if e := apierr.Decode(403, xmlHeader, []byte(pastDepth)); e.Message != "" {
		t.Errorf("read an XML element at depth 33: %q", e.Message)
	}
	// Text is kept up to 4096 bytes of an element; a section after that
	// is not read, one before it is.
	for n, want := range map[int]string{4096: "", 4095: "Invalid key"} {
		body := "<Error><Message>" + strings.Repeat(" ", n) + "<![CDATA[Invalid key]]></Message></Error>"
		if e := apierr.Decode(403, xmlHeader, []byte(body)); e.Message != want {
			t.Errorf("after %d bytes of text: Message = %q, want %q", n, e.Message, want)
		}
	}
	longText := "<Error><Message>" + strings.Repeat("a", 10000) + "</Message></Error>"
	if e := apierr.Decode(403, nil, []byte(longText)); len(e.Message) > 512+len("…") {
		t.Errorf("kept %d bytes of a message", len(e.Message))
	}
	longTitle := "<html><title>" + strings.Repeat("é", 1000) + "</title></html>"
	if e := apierr.Decode(401, nil, []byte(longTitle)); len(e.Message) > 512+len("…") {
		t.Errorf("kept %d bytes of a title", len(e.Message))
	}
}
