package azkv_test

// The fake vault's writes, the operator's side of a rotation, as Key
// Vault's REST API documents them: Set Secret
// (https://learn.microsoft.com/rest/api/keyvault/secrets/set-secret/set-secret)
// and Update Secret
// (https://learn.microsoft.com/rest/api/keyvault/secrets/update-secret/update-secret).
// Times are Unix seconds; a write takes the fake's clock (see fakekv_test.go).

import (
	"encoding/json"
	"net/http"
	"time"
)

// kvAttributes are the attributes a write may set, in Unix seconds.
type kvAttributes struct {
	Enabled *bool  `json:"enabled"`
	Exp     *int64 `json:"exp"`
	Nbf     *int64 `json:"nbf"`
}

// apply sets the attributes given on v; a nil a sets nothing.
func (a *kvAttributes) apply(v *kvVersion) {
	if a == nil {
		return
	}
	if a.Enabled != nil {
		v.enabled = *a.Enabled
	}
	if a.Exp != nil {
		v.exp = time.Unix(*a.Exp, 0)
	}
	if a.Nbf != nil {
		v.nbf = time.Unix(*a.Nbf, 0)
	}
}

// put is Set Secret: {"value", "contentType", "tags", "attributes"}.
func (f *fakeKV) put(w http.ResponseWriter, r *http.Request, name, version string) {
	if version != "" {
		f.fail(w, http.StatusBadRequest, "BadParameter", "", "Set Secret takes no version.")
		return
	}
	var in struct {
		Value       *string           `json:"value"`
		ContentType string            `json:"contentType"`
		Tags        map[string]string `json:"tags"`
		Attributes  *kvAttributes     `json:"attributes"`
	}
	if err := json.NewDecoder(r.Body).Decode(&in); err != nil || in.Value == nil {
		f.fail(w, http.StatusBadRequest, "BadParameter", "", "The request body is not a valid secret: a value is required.")
		return
	}
	id := f.set(name, *in.Value, func(v *kvVersion) {
		v.contentType, v.tags = in.ContentType, in.Tags
		in.Attributes.apply(v)
	})
	f.reply(w, f.bundle(name, f.versionByID(name, id), true))
}

// patch is Update Secret: attributes, tags and content type of a version;
// its answer carries no value.
func (f *fakeKV) patch(w http.ResponseWriter, r *http.Request, name, version string) {
	v := f.find(w, name, version)
	if v == nil {
		return
	}
	var in struct {
		ContentType *string           `json:"contentType"`
		Tags        map[string]string `json:"tags"`
		Attributes  *kvAttributes     `json:"attributes"`
	}
	if err := json.NewDecoder(r.Body).Decode(&in); err != nil {
		f.fail(w, http.StatusBadRequest, "BadParameter", "", "The request body is not valid JSON.")
		return
	}
	if in.ContentType != nil {
		v.contentType = *in.ContentType
	}
	if in.Tags != nil {
		v.tags = in.Tags
	}
	in.Attributes.apply(v)
	v.updated = f.tick()
	f.reply(w, f.bundle(name, v, false))
}
