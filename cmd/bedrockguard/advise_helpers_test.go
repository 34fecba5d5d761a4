package main

import (
	"io"
	"net/http"
)

// httpHandlerFunc serves a fake Prometheus query API: answer gets the
// query and returns the JSON body.
func httpHandlerFunc(answer func(query string) string) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_, _ = io.WriteString(w, answer(r.URL.Query().Get("query")))
	})
}
