// Package reqinfo lets a dialect's handler tell the server's middleware
// what a request was (a JSON-RPC method, an Esplora route template), for
// the latency metrics, without the dialects importing the server. It
// carries nothing else.
package reqinfo

import "context"

type key struct{}

// Info is filled by the handler and read by the middleware.
type Info struct {
	// Route names the request with bounded cardinality: a method name or
	// a route template, never a raw path.
	Route string
}

// With returns a context carrying a fresh Info.
func With(ctx context.Context) (context.Context, *Info) {
	i := &Info{}
	return context.WithValue(ctx, key{}, i), i
}

// SetRoute records the route, if the context carries an Info.
func SetRoute(ctx context.Context, route string) {
	if i, ok := ctx.Value(key{}).(*Info); ok {
		i.Route = route
	}
}
