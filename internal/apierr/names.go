package apierr

import (
	"strings"
	"unicode"
)

// Field names are matched by what they say, not by a list of vendors'
// spellings: a name is lowercased and stripped of everything but letters
// and digits ("error_description", "errorDescription" and
// "Error-Description" are all "errordescription"), then classified. Each
// class has a rank, lower meaning more specific; the decoder keeps the
// best-ranked value of each kind.
const (
	none = 1 << 30 // no value

	// Codes.
	rankStandardCode = 0  // google.rpc.ErrorInfo reason
	rankCode         = 10 // code, error_code, errCode, __type, .tag
	rankTypedChild   = 15 // {"sys": {"type": "Error", "id": ...}}
	rankSubCode      = 20 // another *code with "err" in it: serviceErrorCode, error_subcode
	rankErrorType    = 30 // error_type, errorType
	rankCategory     = 31
	rankReason       = 32 // reason, when it is an identifier
	rankStatus       = 33 // status, when it is an identifier: "INVALID_ARGUMENT"
	rankName         = 34
	rankType         = 35
	rankErrorWord    = 36 // "error": "Invalid API Key" beside a message
	rankTitle        = 37 // title, beside a message
	rankID           = 40 // id, when nothing else names the error

	// Messages.
	rankErrorMessage = 10 // error_description, error_message, err_msg, errorSummary, faultstring
	rankMessage      = 20 // message, msg, and a sentence alone in "error"
	rankDetail       = 30 // detail, details, description, userMessage
	rankReasonText   = 40 // reason, when it is a sentence
	rankErrorsText   = 45 // "errors": "..." or ["...", ...]
	rankTitleText    = 50 // title, when there is no other message

	// Request IDs.
	rankRequestID     = 10 // *request_id, *RequestId, google.rpc.RequestInfo
	rankCorrelationID = 20
	rankTraceID       = 30 // *trace_id, fbtrace_id
	rankOtherID       = 40 // errorId, incidentId, transactionId
)

// normName lowercases a field name and keeps only its letters and digits.
func normName(name string) string {
	var b strings.Builder
	for _, r := range name {
		if r < 0x80 && isAlnum(byte(r)) {
			b.WriteRune(unicode.ToLower(r))
		}
	}
	return b.String()
}

// messageRank is the rank of a field that holds a human message, or none.
func messageRank(n string) int {
	switch {
	case n == "message" || n == "msg":
		return rankMessage
	case n == "faultstring" || n == "errmsg" || (strings.HasPrefix(n, "err") || strings.HasPrefix(n, "fault")) &&
		(strings.HasSuffix(n, "message") || strings.HasSuffix(n, "description") || strings.HasSuffix(n, "summary")):
		return rankErrorMessage
	case n == "detail" || n == "details" || n == "description" || strings.HasSuffix(n, "message"):
		return rankDetail
	}
	return none
}

// codeRank is the rank of a field that holds a machine code, or none.
// reason, status, name, type, title and error count only for identifiers;
// the decoder checks that.
func codeRank(raw, n string) int {
	switch {
	case raw == "__type" || raw == ".tag" || n == "code" || n == "errorcode" || n == "errcode":
		return rankCode
	case strings.HasSuffix(n, "code") && (strings.Contains(n, "err") || strings.Contains(n, "fault")):
		return rankSubCode
	case n == "errortype":
		return rankErrorType
	case n == "category":
		return rankCategory
	case n == "reason":
		return rankReason
	case n == "status":
		return rankStatus
	case n == "name":
		return rankName
	case n == "type":
		return rankType
	}
	return none
}

// requestIDRank is the rank of a field that holds an ID to quote to the
// API's support, or none.
func requestIDRank(n string) int {
	switch {
	case strings.HasSuffix(n, "requestid"):
		return rankRequestID
	case strings.HasSuffix(n, "correlationid"):
		return rankCorrelationID
	case strings.HasSuffix(n, "traceid"):
		return rankTraceID
	case strings.HasSuffix(n, "errorid") || strings.HasSuffix(n, "incidentid") || strings.HasSuffix(n, "transactionid"):
		return rankOtherID
	}
	return none
}

// isIdentifier reports whether s reads as a machine code rather than a
// sentence: a single token of at most 128 bytes with a letter or digit in
// it ("invalid_token", "INVALID_SESSION_ID", "KT-CT-7423", "Unauthorized").
func isIdentifier(s string) bool {
	if s == "" || len(s) > 128 || strings.ContainsFunc(s, unicode.IsSpace) {
		return false
	}
	return strings.ContainsFunc(s, func(r rune) bool { return r < 0x80 && isAlnum(byte(r)) })
}

// isGeneric reports whether an identifier says only that there is an
// error, as in {"type": "error"} or {"status": "fail"}, or is a URI (a
// problem type such as "about:blank").
func isGeneric(s string) bool {
	switch strings.ToLower(s) {
	case "error", "errors", "fail", "failed", "failure", "ok", "success", "exception", "about:blank":
		return true
	}
	return strings.Contains(s, "://")
}

// typeName strips the namespace from a "__type" value:
// "com.example.service#UnrecognizedClientException" is
// "UnrecognizedClientException" (JSON 1.x protocols put a namespace before
// '#' and may append ":" and a URI).
func typeName(s string) string {
	if i := strings.LastIndexByte(s, '#'); i >= 0 {
		s = s[i+1:]
	}
	if i := strings.IndexByte(s, ':'); i >= 0 {
		s = s[:i]
	}
	return s
}
