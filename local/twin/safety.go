package twin

import (
	"net"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
)

// The twin runs on a developer's machine next to their browser, so a page on another
// origin must be able to read or change nothing in it. These layers stand where AWS
// has TLS host names, bucket CORS rules and SigV4 on every call.

// hostGuard refuses requests whose Host is not one of the twin's own names: with DNS
// rebinding, a page on evil.example can resolve its own name to 127.0.0.1, and only
// the Host header tells the request apart.
func (t *Twin) hostGuard(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !t.hostAllowed(r.Host) {
			w.Header().Set("Content-Type", "text/plain; charset=utf-8")
			w.WriteHeader(http.StatusMisdirectedRequest)
			_, _ = w.Write([]byte("imagepipe twin: Host " + strconv.Quote(r.Host) + " is not one of this twin's names (loopback, or --host)\n"))
			return
		}
		next.ServeHTTP(w, r)
	})
}

func (t *Twin) hostAllowed(hostport string) bool {
	host := hostport
	if h, _, err := net.SplitHostPort(hostport); err == nil {
		host = h
	}
	host = strings.TrimSuffix(strings.Trim(host, "[]"), ".")
	return isLoopback(host) || slices.Contains(t.cfg.Hosts, host)
}

// webOrigin is the origin browsers give the twin's web app.
func (t *Twin) webOrigin(r *http.Request) string { return "http://" + r.Host }

// webGuard protects the web listener's state-changing routes from cross-site
// requests: a browser sends Origin with every cross-origin POST, PUT and DELETE, and a
// form or a "simple" fetch can only POST text/plain, form or multipart bodies — so
// other origins are refused, and POSTs must be JSON.
func (t *Twin) webGuard(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.Method {
		case http.MethodGet, http.MethodHead, http.MethodOptions:
		default:
			if o := r.Header.Get("Origin"); o != "" && o != t.webOrigin(r) {
				writeJSON(w, http.StatusForbidden, map[string]string{"error": "cross-origin request refused: Origin " + o})
				return
			}
			if r.Method == http.MethodPost && !isJSON(r.Header.Get("Content-Type")) {
				writeJSON(w, http.StatusUnsupportedMediaType, map[string]string{"error": "state-changing requests take Content-Type: application/json"})
				return
			}
		}
		// The app runs only its own scripts; images may come from the edge's
		// presigned URLs, as they come from S3 in AWS.
		w.Header().Set("Content-Security-Policy", "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; "+
			"img-src 'self' data: blob: "+t.EdgeURL()+"; connect-src 'self' "+t.EdgeURL()+"; object-src 'none'; base-uri 'self'; frame-ancestors 'none'; form-action 'self'")
		w.Header().Set("X-Content-Type-Options", "nosniff")
		w.Header().Set("Referrer-Policy", "same-origin")
		next.ServeHTTP(w, r)
	})
}

func isJSON(contentType string) bool {
	mt, _, _ := strings.Cut(contentType, ";")
	return strings.EqualFold(strings.TrimSpace(mt), "application/json")
}

// corsRule is one rule of a bucket's CorsConfiguration.
type corsRule struct {
	origins, methods, headers, expose []string
	maxAge                            int
}

// bucketCORS applies the template's bucket CORS rules on the edge, as S3 does, in
// place of gofakes3's "Access-Control-Allow-Origin: *": a preflight that no rule
// allows is refused with 403, and an actual request gets CORS headers only from a
// matching rule. The CloudFront origin in the rules stands for the twin's web origin.
func (t *Twin) bucketCORS(rules map[string][]corsRule, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		origin := r.Header.Get("Origin")
		bucket, _, _ := strings.Cut(strings.TrimPrefix(r.URL.Path, "/"), "/")
		if r.Method == http.MethodOptions && r.Header.Get("Access-Control-Request-Method") != "" {
			rule, ok := t.matchCORS(rules[bucket], origin, r.Header.Get("Access-Control-Request-Method"))
			if !ok {
				w.Header().Set("Content-Type", "application/xml")
				w.WriteHeader(http.StatusForbidden)
				_, _ = w.Write([]byte(`<?xml version="1.0" encoding="UTF-8"?><Error><Code>AccessForbidden</Code><Message>CORSResponse: This CORS request is not allowed. This is usually because the evalution of Origin, request method / Access-Control-Request-Method or Access-Control-Request-Headers are not whitelisted by the resource's CORS spec.</Message></Error>`))
				return
			}
			h := w.Header()
			h.Set("Access-Control-Allow-Origin", origin)
			h.Set("Access-Control-Allow-Methods", strings.Join(rule.methods, ", "))
			if reqHeaders := r.Header.Get("Access-Control-Request-Headers"); reqHeaders != "" && slices.Contains(rule.headers, "*") {
				h.Set("Access-Control-Allow-Headers", reqHeaders)
			} else if len(rule.headers) > 0 {
				h.Set("Access-Control-Allow-Headers", strings.Join(rule.headers, ", "))
			}
			if rule.maxAge > 0 {
				h.Set("Access-Control-Max-Age", strconv.Itoa(rule.maxAge))
			}
			h.Add("Vary", "Origin, Access-Control-Request-Headers, Access-Control-Request-Method")
			w.WriteHeader(http.StatusOK)
			return
		}
		cw := &corsWriter{ResponseWriter: w}
		if rule, ok := t.matchCORS(rules[bucket], origin, r.Method); origin != "" && ok {
			cw.allow = origin
			cw.expose = strings.Join(rule.expose, ", ")
		}
		next.ServeHTTP(cw, r)
	})
}

// matchCORS finds the first rule allowing origin and method, as S3 evaluates them.
func (t *Twin) matchCORS(rules []corsRule, origin, method string) (corsRule, bool) {
	for _, rule := range rules {
		if !slices.Contains(rule.methods, method) {
			continue
		}
		for _, o := range rule.origins {
			if o == "*" || o == origin || t.isWebOrigin(o, origin) {
				return rule, true
			}
		}
	}
	return corsRule{}, false
}

// isWebOrigin: the template's CloudFront origin (https://<distribution>) resolves on
// the twin to its web listener's host, which browsers reach over plain http.
func (t *Twin) isWebOrigin(allowed, origin string) bool {
	host := strings.TrimPrefix(allowed, "https://")
	return host != allowed && host == t.httpLn.Addr().String() && origin == "http://"+host
}

// corsWriter replaces whatever CORS headers the handler set with the rule's.
type corsWriter struct {
	http.ResponseWriter
	allow, expose string
	wrote         bool
}

func (c *corsWriter) WriteHeader(code int) {
	if !c.wrote {
		c.wrote = true
		h := c.Header()
		for _, k := range []string{"Access-Control-Allow-Origin", "Access-Control-Allow-Methods", "Access-Control-Allow-Headers", "Access-Control-Expose-Headers"} {
			h.Del(k)
		}
		if c.allow != "" {
			h.Set("Access-Control-Allow-Origin", c.allow)
			if c.expose != "" {
				h.Set("Access-Control-Expose-Headers", c.expose)
			}
			h.Add("Vary", "Origin")
		}
	}
	c.ResponseWriter.WriteHeader(code)
}

func (c *corsWriter) Write(p []byte) (int, error) {
	if !c.wrote {
		c.WriteHeader(http.StatusOK)
	}
	return c.ResponseWriter.Write(p)
}

// Flush passes streaming through (long-polling, large downloads).
func (c *corsWriter) Flush() {
	if f, ok := c.ResponseWriter.(http.Flusher); ok {
		f.Flush()
	}
}

// Unwrap lets http.ResponseController reach the connection (the S3 edge's read
// deadlines on slow bodies).
func (c *corsWriter) Unwrap() http.ResponseWriter { return c.ResponseWriter }

// serviceCORS answers browsers for the edge's non-S3 services as AWS's endpoints do.
// Cognito, Lambda, SQS and Rekognition allow CORS (aws-sdk-js SERVICES.md, "Allows
// CORS"), here for the twin's own web origin only; Step Functions and OpenSearch
// allow none (aws/aws-sdk-js#1334, aws/aws-sdk-js-v3#1588), so a browser's call to
// them is refused before it runs, as the failed preflight stops it in AWS. S3 paths
// pass to the buckets' own CORS rules (bucketCORS).
//
// It stands in front of the edge's SigV4 and IAM checks, as CORS does in AWS: a
// refusal (AccessDenied, SignatureDoesNotMatch) carries the CORS headers, so the
// page can read why.
func (t *Twin) serviceCORS(buckets map[string][]corsRule, next http.Handler) http.Handler {
	s3 := t.bucketCORS(buckets, next)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		origin := r.Header.Get("Origin")
		if origin == "" {
			next.ServeHTTP(w, r)
			return
		}
		if isBucketPath(r.URL.Path) {
			s3.ServeHTTP(w, r)
			return
		}
		ours := t.isTwinWebOrigin(origin)
		if r.Method == http.MethodOptions && r.Header.Get("Access-Control-Request-Method") != "" {
			if !ours || strings.HasPrefix(r.URL.Path, "/opensearch/") {
				w.WriteHeader(http.StatusForbidden)
				return
			}
			h := w.Header()
			h.Set("Access-Control-Allow-Origin", origin)
			h.Set("Access-Control-Allow-Methods", "GET, POST, PUT, DELETE")
			if rh := r.Header.Get("Access-Control-Request-Headers"); rh != "" {
				h.Set("Access-Control-Allow-Headers", rh)
			}
			h.Set("Access-Control-Max-Age", "600")
			h.Add("Vary", "Origin, Access-Control-Request-Headers, Access-Control-Request-Method")
			w.WriteHeader(http.StatusOK)
			return
		}
		if svc := signingService(r); svc == "states" || svc == "es" || strings.HasPrefix(r.Header.Get("X-Amz-Target"), "AWSStepFunctions.") ||
			strings.HasPrefix(r.URL.Path, "/opensearch/") {
			writeJSON(w, http.StatusForbidden, map[string]string{"__type": "CORSNotAllowed",
				"message": "this service allows no CORS in AWS: a browser cannot call it (call it through an API or a function)"})
			return
		}
		if ours {
			w.Header().Set("Access-Control-Allow-Origin", origin)
			w.Header().Set("Access-Control-Expose-Headers", "x-amzn-RequestId, x-amzn-ErrorType, x-amzn-ErrorMessage, x-amz-function-error, x-amz-log-result, x-amz-executed-version, Date")
			w.Header().Add("Vary", "Origin")
		}
		next.ServeHTTP(w, r)
	})
}

// isBucketPath: S3's path-style requests name a bucket; the JSON protocols post to
// "/", Lambda's REST API lives under its version date, OpenSearch under its root.
func isBucketPath(p string) bool {
	return p != "/" && p != "" && !strings.HasPrefix(p, "/2015-03-31/") && !strings.HasPrefix(p, "/opensearch/")
}

// isTwinWebOrigin: the web listener's origin under any of the twin's host names.
func (t *Twin) isTwinWebOrigin(origin string) bool {
	u, err := url.Parse(origin)
	if err != nil || u.Scheme != "http" || u.Path != "" {
		return false
	}
	_, port, _ := net.SplitHostPort(t.httpLn.Addr().String())
	return u.Port() == port && t.hostAllowed(u.Host)
}
