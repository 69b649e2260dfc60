// Package ui is satnode's status page: one HTML page (its CSS inline) and
// one script, embedded in the binary, that a browser loads from the node's
// API port and that reads nothing but the node's own public API.
//
// The page shows the four Bitcoin tips of /v1/status (canonical, endorsed,
// best header, final), the node's way to live (its "node" object: state
// syncing, catching up or live, with progress and ETA), each pending
// block's endorsement as a stake bar (endorsed power against the power
// needed, /v1/endorsements), the validators (power, stake, commission,
// jailing, and attendance when /v1/validators reports it) and the
// synchronizers, the latest applied blocks (/v1/block/:id/stats: txs,
// fees, coin-days destroyed), and a lookup box for an outpoint
// (/v1/utxo/:txid/:vout), an address (/address/:address and its /utxo) or
// a script hash (/scripthash/:hash and its /utxo). It polls every few
// seconds (?poll=SECONDS overrides the period, 1 to 3600) and updates at
// once on the /v1/stream websocket's block events, reconnecting when the
// stream drops. Errors are shown in the page next to what failed.
//
// Paths (GET and HEAD; anything else is 405):
//
//	/, /ui, /ui/    the page (the server sends "/" here only for a browser:
//	                AcceptsHTML)
//	/ui/app.js      its script
//
// Any other path is answered 404 with no route in rpc/internal/reqinfo, so
// that the server gives it the same answer as every unknown path.
//
// Element ids and data attributes are stable, for tests and for anyone
// scripting the page: #tip-canonical, #tip-endorsed, #tip-best-header and
// #tip-final carry data-height and data-hash; #node-state carries
// data-state; each pending block is a .pending row with data-height and
// data-hash holding a .stake-bar with data-hash, data-endorsed,
// data-needed and data-percent; #blocks holds a row per applied block with
// data-height and data-hash; #validators and #synchronizers have a row per
// entry with data-operator or data-address; #lookup-result holds the
// lookup's answer and #errors the page's current errors.
//
// What it does not do: it loads nothing from anywhere but the server that
// served it (no CDN, no fonts; its Content-Security-Policy forbids it), has
// no build step (plain HTML and JavaScript), keeps no state on the server,
// adds no API of its own and writes nothing. It needs no login, since it
// uses only the open dialects; the JSON-RPC dialect's credentials do not
// apply to it.
package ui
