package twin

import "net/http"

// stageRoutes are the web listener's paths that the template's API stage serves
// ahead of the web server's own routes of the same names: the operators' API
// (/executions, /failures), which the operations function answers as it does in
// AWS. (Once the web server's private /api/ routes are gone and the stage serves
// all of /api/, this is redundant.)
var stageRoutes = []string{"/api/executions", "/api/executions/", "/api/failures", "/api/failures/"}

// withStageRoutes sends stageRoutes to stage and everything else to web.
func withStageRoutes(stage, web http.Handler) http.Handler {
	mux := http.NewServeMux()
	for _, p := range stageRoutes {
		mux.Handle(p, stage)
	}
	mux.Handle("/", web)
	return mux
}
