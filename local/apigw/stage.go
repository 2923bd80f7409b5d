package apigw

import (
	"fmt"
	"strings"
	"time"
)

// stageSettings are the stage's method settings: the throttles.
type stageSettings struct {
	settings []methodSetting
}

// methodSetting is one MethodSettings entry: for "/*" "*" (every method) or for one
// method ("/~1images", "GET").
type methodSetting struct {
	path, method      string
	rate, burst       float64
	hasRate, hasBurst bool
}

// readStage reads the API's one stage: an AWS::ApiGateway::Stage, or a Deployment's
// StageName.
func (a *API) readStage(t template) (*stageSettings, error) {
	for _, r := range t["AWS::ApiGateway::Deployment"] {
		p := newProps(r)
		p.ignore("Description")
		if err := a.sameAPI(p); err != nil {
			return nil, err
		}
		if p.has("StageDescription") || p.has("DeploymentCanarySettings") {
			return nil, unsupported(r, "StageDescription and DeploymentCanarySettings (declare an AWS::ApiGateway::Stage)")
		}
		name, err := p.str("StageName")
		if err != nil {
			return nil, err
		}
		if err := p.check(); err != nil {
			return nil, err
		}
		if name != "" {
			if a.stage != "" {
				return nil, unsupported(r, "more than one stage (%s and %s)", a.stage, name)
			}
			a.stage, a.deploymentID = name, r.PhysicalID
		}
	}
	st := &stageSettings{}
	for _, r := range t["AWS::ApiGateway::Stage"] {
		p := newProps(r)
		name, err := p.str("StageName")
		if err != nil {
			return nil, err
		}
		if a.stage != "" {
			return nil, unsupported(r, "more than one stage (%s and %s)", a.stage, name)
		}
		if err := a.readStageResource(p, st); err != nil {
			return nil, err
		}
		a.stage = name
	}
	if a.stage == "" {
		return nil, fmt.Errorf("apigw: the template declares no stage of REST API %s", a.id)
	}
	return st, nil
}

func (a *API) readStageResource(p *props, st *stageSettings) error {
	// X-Ray tracing and the cache cluster change nothing a client sees (caching itself
	// is a method setting, refused below); a client certificate is for HTTP backends.
	p.ignore("Description", "Tags", "DocumentationVersion", "TracingEnabled", "CacheClusterEnabled",
		"CacheClusterSize", "ClientCertificateId")
	if err := a.sameAPI(p); err != nil {
		return err
	}
	var err error
	if a.deploymentID, err = p.str("DeploymentId"); err != nil {
		return err
	}
	if p.has("CanarySetting") {
		return unsupported(p.r, "CanarySetting")
	}
	if a.stageVariables, err = p.stringMap("Variables"); err != nil {
		return err
	}
	if len(a.stageVariables) == 0 {
		a.stageVariables = nil
	}
	if al, ok, err := p.object("AccessLogSetting"); err != nil {
		return err
	} else if ok {
		al.ignore("DestinationArn")
		format, err := al.str("Format")
		if err != nil {
			return err
		}
		if err := al.check(); err != nil {
			return err
		}
		if format != "" {
			a.accessLog = parseAccessLogFormat(format)
		}
	}
	ms, err := p.objects("MethodSettings")
	if err != nil {
		return err
	}
	for _, mp := range ms {
		s, err := readMethodSetting(mp)
		if err != nil {
			return err
		}
		st.settings = append(st.settings, s)
	}
	return p.check()
}

func readMethodSetting(p *props) (methodSetting, error) {
	// Logging and metrics go to CloudWatch, which the twin does not have; the access
	// log is written to the twin's log instead.
	p.ignore("LoggingLevel", "MetricsEnabled", "DataTraceEnabled", "CacheDataEncrypted", "CacheTtlInSeconds")
	var s methodSetting
	var err error
	if s.path, err = p.str("ResourcePath"); err != nil {
		return s, err
	}
	if s.method, err = p.str("HttpMethod"); err != nil {
		return s, err
	}
	if s.path == "/*" && s.method != "*" || s.path != "/*" && (s.method == "*" || strings.Contains(s.path, "*")) {
		return s, unsupported(p.r, "MethodSettings %s %s (only /* * or one method)", s.path, s.method)
	}
	if s.path != "/*" {
		// "/~1images~1{id}" is /images/{id}; "/" is the root.
		if s.path = strings.ReplaceAll(strings.TrimPrefix(s.path, "/"), "~1", "/"); s.path == "" {
			s.path = "/"
		}
	}
	if caching, err := p.boolean("CachingEnabled"); err != nil {
		return s, err
	} else if caching {
		return s, unsupported(p.r, "MethodSettings CachingEnabled (response caching)")
	}
	if s.rate, s.hasRate, err = p.number("ThrottlingRateLimit"); err != nil {
		return s, err
	}
	if s.burst, s.hasBurst, err = p.number("ThrottlingBurstLimit"); err != nil {
		return s, err
	}
	return s, p.check()
}

// Account-level throttle ("Throttle API requests for better throughput": 10,000
// requests a second, a burst of 5,000), the bound of every stage setting.
const (
	accountRate  = 10000
	accountBurst = 5000
)

// bucketFor is the method's own throttle: its own setting, else the stage's default
// ("/*" "*", which API Gateway applies to each method separately), else none (the
// account's alone).
func (st *stageSettings) bucketFor(path, httpMethod string, now time.Time) *tokenBucket {
	var found *methodSetting
	for i := range st.settings {
		s := &st.settings[i]
		if s.path == path && s.method == httpMethod {
			found = s
			break
		}
		if s.path == "/*" && found == nil {
			found = s
		}
	}
	if found == nil || !found.hasRate && !found.hasBurst {
		return nil
	}
	rate, burst := float64(accountRate), float64(accountBurst)
	if found.hasRate {
		rate = min(found.rate, accountRate)
	}
	if found.hasBurst {
		burst = min(found.burst, accountBurst)
	}
	return newTokenBucket(rate, burst, now)
}

func newAccountBucket(now time.Time) *tokenBucket {
	return newTokenBucket(accountRate, accountBurst, now)
}
