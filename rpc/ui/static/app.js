// satnode status page. Plain JavaScript, no dependencies: it reads the
// node's own API (/v1/..., the Esplora paths for address lookups) and the
// /v1/stream websocket, and never throws: every failure is shown in the
// page next to what failed (and listed in #errors).
"use strict";

(function () {
	const BLOCK_ROWS = 10; // applied blocks listed
	const PENDING_PAGE = 100; // pending blocks listed
	const LOOKUP_UTXOS = 25; // coins listed per lookup
	const STREAM_BACKOFF_MAX = 30000;

	const params = new URLSearchParams(location.search);
	const pollSeconds = clampInt(params.get("poll"), 1, 3600, 5);

	const $ = (id) => document.getElementById(id);

	// ---- formatting ----

	function clampInt(s, lo, hi, def) {
		const n = Number.parseInt(s, 10);
		if (!Number.isFinite(n)) return def;
		return Math.min(hi, Math.max(lo, n));
	}

	function num(n) {
		if (n === undefined || n === null) return "–";
		return Number(n).toLocaleString("en-US");
	}

	// btc prints satoshis as BTC with eight decimals, exactly (no floats).
	function btc(sats) {
		if (sats === undefined || sats === null) return "–";
		const neg = sats < 0;
		const s = String(Math.abs(sats)).padStart(9, "0");
		const whole = Number(s.slice(0, -8)).toLocaleString("en-US");
		return (neg ? "-" : "") + whole + "." + s.slice(-8);
	}

	function short(hash) {
		if (!hash) return "–";
		return hash.length > 20 ? hash.slice(0, 10) + "…" + hash.slice(-8) : hash;
	}

	function utc(unixSeconds) {
		if (!unixSeconds) return "–";
		return new Date(unixSeconds * 1000).toISOString().replace("T", " ").slice(0, 19) + "Z";
	}

	function duration(seconds) {
		if (seconds === undefined || seconds === null) return "unknown";
		seconds = Math.max(0, Math.round(seconds));
		const d = Math.floor(seconds / 86400), h = Math.floor((seconds % 86400) / 3600);
		const m = Math.floor((seconds % 3600) / 60), s = seconds % 60;
		if (d > 0) return d + "d " + h + "h";
		if (h > 0) return h + "h " + String(m).padStart(2, "0") + "m";
		if (m > 0) return m + "m " + String(s).padStart(2, "0") + "s";
		return s + "s";
	}

	function bytes(n) {
		if (!n) return "0 B";
		const units = ["B", "KiB", "MiB", "GiB", "TiB"];
		let i = 0;
		while (n >= 1024 && i < units.length - 1) { n /= 1024; i++; }
		return n.toFixed(i === 0 ? 0 : 1) + " " + units[i];
	}

	// el builds an element; children are nodes or strings (text, never
	// HTML: monikers and the like are anyone's input).
	function el(tag, attrs, ...children) {
		const e = document.createElement(tag);
		for (const [k, v] of Object.entries(attrs || {})) {
			if (v === undefined || v === null) continue;
			if (k === "class") e.className = v;
			else if (k === "text") e.textContent = v;
			else if (k.startsWith("data-") || k === "title" || k === "id" || k === "colspan") e.setAttribute(k, String(v));
			else e[k] = v;
		}
		for (const c of children) {
			if (c === undefined || c === null) continue;
			e.append(c instanceof Node ? c : document.createTextNode(String(c)));
		}
		return e;
	}

	function hashCell(hash) {
		return el("td", { class: "mono", title: hash || "" }, short(hash));
	}

	// ---- errors ----

	const errors = new Map(); // key -> message

	function setError(key, msg) {
		if (msg) errors.set(key, msg); else errors.delete(key);
		const local = $("err-" + key);
		if (local) local.textContent = msg || "";
		const box = $("errors");
		box.replaceChildren(...[...errors.entries()].map(([k, m]) => el("div", { "data-key": k }, k + ": " + m)));
		box.classList.toggle("shown", errors.size > 0);
	}

	// guard runs an async job and shows its failure under key; it never
	// rejects.
	async function guard(key, job) {
		try {
			const r = await job();
			setError(key, "");
			return r;
		} catch (e) {
			setError(key, e && e.message ? e.message : String(e));
			return undefined;
		}
	}

	window.addEventListener("error", (ev) => setError("page", ev.message || "script error"));
	window.addEventListener("unhandledrejection", (ev) => {
		setError("page", (ev.reason && ev.reason.message) || String(ev.reason));
		ev.preventDefault();
	});

	// ---- the API ----

	class APIError extends Error {
		constructor(path, status, msg) {
			super(path + ": " + status + (msg ? " " + msg : ""));
			this.status = status;
		}
	}

	// api fetches a path of this server and returns {body, headers}; a
	// non-2xx answer is an APIError with the dialect's message (JSON
	// {"error"} or Esplora's text).
	async function api(path) {
		const resp = await fetch(path, { headers: { Accept: "application/json" }, cache: "no-store" });
		const text = await resp.text();
		let body = text;
		if ((resp.headers.get("Content-Type") || "").includes("json")) {
			try { body = JSON.parse(text); } catch (e) { throw new APIError(path, resp.status, "unreadable JSON: " + e.message); }
		}
		if (!resp.ok) {
			const msg = body && typeof body === "object" ? body.error : String(text).slice(0, 300);
			throw new APIError(path, resp.status, msg);
		}
		return { body, headers: resp.headers };
	}

	// ---- tips, node and sync ----

	let status = null; // the last /v1/status body with chain fields
	// latest is the newest commit (satnode height) seen, from the stream or
	// a poll: an answer about an older one, overtaken in flight, is not
	// shown over it.
	let latest = 0;

	function renderTip(id, ref, base) {
		const box = $(id);
		const has = ref && ref.hash !== undefined;
		box.dataset.height = has ? String(ref.height) : "";
		box.dataset.hash = has ? ref.hash : "";
		box.querySelector(".height").textContent = has ? num(ref.height) : "–";
		const h = box.querySelector(".hash");
		h.textContent = has ? ref.hash : "–";
		h.title = has ? ref.hash : "";
		let delta = "";
		if (has && base && base.hash !== undefined && id !== "tip-canonical") {
			const d = ref.height - base.height;
			delta = d === 0 ? "at the canonical tip" : (d > 0 ? "+" : "") + d + " from the canonical tip";
		}
		box.querySelector(".delta").textContent = delta;
	}

	// renderStatus shows a /v1/status body and reports whether it is the
	// newest state seen.
	function renderStatus(b) {
		$("updated").textContent = new Date().toLocaleTimeString();
		renderNode(b);
		if (b.canonical === undefined) {
			// Before the first commit /v1/status has the node object alone.
			status = null;
			for (const id of ["tip-canonical", "tip-endorsed", "tip-best-header", "tip-final"]) renderTip(id, null);
			$("finality").textContent = "no committed state yet";
			return false;
		}
		if (b.at && b.at.chain_height < latest) return false;
		latest = b.at ? b.at.chain_height : latest;
		status = b;
		$("chain-id").textContent = b.chain_id || "–";
		$("network").textContent = b.network || "–";
		$("chain-height").textContent = num(b.height);
		$("app-hash").textContent = short(b.app_hash);
		$("app-hash").title = b.app_hash || "";
		renderTip("tip-canonical", b.canonical);
		renderTip("tip-endorsed", b.endorsed, b.canonical);
		renderTip("tip-best-header", b.best_header, b.canonical);
		renderTip("tip-final", b.final, b.canonical);
		$("finality").textContent = "finality depth " + b.finality_depth + (b.sync && b.sync.synced ? " · synced" :
			b.sync ? " · " + num(b.sync.behind) + " behind the best header" : "");
		return true;
	}

	function kv(pairs) {
		const out = [];
		for (const [k, v] of pairs) {
			if (v === undefined || v === null || v === "") continue;
			out.push(el("dt", null, k), el("dd", null, v));
		}
		$("sync-kv").replaceChildren(...out);
	}

	function setProgress(pct, text) {
		const bar = $("sync-progress");
		const p = pct === null || pct === undefined || !Number.isFinite(pct) ? null : Math.max(0, Math.min(100, pct));
		bar.dataset.percent = p === null ? "" : p.toFixed(1);
		bar.firstElementChild.style.width = (p === null ? 0 : p) + "%";
		$("sync-text").textContent = text;
	}

	function renderNode(b) {
		const n = b.node;
		const badge = $("node-state");
		const sync = b.sync;
		if (!n) {
			// No node object: the server reports only how far the set is
			// behind the best header.
			const state = !sync ? "unknown" : sync.synced ? "synced" : "behind";
			badge.dataset.state = state;
			badge.className = "state" + (state === "synced" ? " live" : "");
			badge.textContent = state;
			if (sync) {
				setProgress(sync.target > 0 ? 100 * sync.applied / sync.target : null,
					"applied " + num(sync.applied) + " of " + num(sync.target) + " (" + num(sync.behind) + " behind)");
			} else {
				setProgress(null, "–");
			}
			kv(sync ? [["endorsed", num(sync.endorsed)]] : []);
			return;
		}
		badge.dataset.state = n.state;
		badge.className = "state " + n.state;
		badge.textContent = n.state.replace("_", " ");
		const eta = n.eta_seconds !== undefined ? duration(n.eta_seconds) : null;
		if (n.state === "state_syncing") {
			const r = n.restore || {};
			setProgress(r.percent, "restoring a snapshot" + (r.phase ? ": " + r.phase : "") +
				(r.percent !== undefined ? " · " + r.percent.toFixed(1) + "%" : "") + (eta ? " · ETA " + eta : ""));
			kv([["snapshot height", r.height ? num(r.height) : ""],
				["bitcoin blocks", r.base_height ? num(r.base_height) + " – " + num(r.tip_height) : ""],
				["chunks", r.chunks_total ? num(r.chunks) + " / " + num(r.chunks_total) : ""],
				["bytes", r.bytes_total ? bytes(r.bytes) + " / " + bytes(r.bytes_total) : ""],
				["coins", r.coins_total ? num(r.coins) + " / " + num(r.coins_total) : ""],
				["blocks", r.blocks_total ? num(r.blocks) + " / " + num(r.blocks_total) : ""],
				["attempts", r.attempts ? num(r.attempts) : ""],
				["rejected chunks", r.rejected_chunks ? num(r.rejected_chunks) : ""],
				["started", r.started ? new Date(r.started).toLocaleString() : ""]]);
		} else if (n.state === "catching_up") {
			const pct = n.target ? 100 * n.height / n.target : null;
			setProgress(pct, "catching up: height " + num(n.height) + (n.target ? " of " + num(n.target) : ", target not known yet") +
				(eta ? " · ETA " + eta : ""));
			kv([["rate", n.blocks_per_second ? n.blocks_per_second.toFixed(1) + " blocks/s" : ""],
				["bitcoin applied", sync ? num(sync.applied) + " of " + num(sync.target) : ""]]);
		} else {
			setProgress(100, n.state === "live" ? "live at satnode height " + num(n.height) : n.state);
			kv([["bitcoin applied", sync ? num(sync.applied) + " of " + num(sync.target) + " headers" : ""],
				["behind", sync ? num(sync.behind) : ""]]);
		}
	}

	async function refreshStatus() {
		const { body } = await api("/v1/status");
		if (renderStatus(body)) await syncBlocks(body.canonical);
	}

	// ---- pending blocks ----

	function stakePercent(endorsed, needed) {
		if (!(needed > 0)) return endorsed > 0 ? 100 : 0;
		return Math.min(100, Math.floor(100 * endorsed / needed));
	}

	function stakeBar(b) {
		const pct = stakePercent(b.endorsed_power, b.needed_power);
		return el("div", {
			class: "stake-bar" + (b.endorsed ? " done" : ""), "data-hash": b.hash, "data-height": b.height,
			"data-endorsed": b.endorsed_power, "data-needed": b.needed_power, "data-total": b.total_power,
			"data-percent": pct, title: num(b.endorsed_power) + " of the " + num(b.needed_power) +
				" needed (total " + num(b.total_power) + ")",
		}, el("div", { class: "fill", style: "width:" + pct + "%" }), el("span", { class: "pct" }, pct + "%"));
	}

	async function refreshPending() {
		const { body, headers } = await api("/v1/endorsements?limit=" + PENDING_PAGE);
		const rows = body.blocks.map((b) => el("tr", { class: "pending", "data-height": b.height, "data-hash": b.hash },
			el("td", null, num(b.height)), hashCell(b.hash),
			el("td", { class: "num", title: (b.endorsers || []).join("\n") }, num((b.endorsers || []).length)),
			el("td", null, stakeBar(b)),
			el("td", null, b.endorsed ? el("span", { class: "badge good" }, "endorsed") :
				el("span", { class: "badge" }, num(b.endorsed_power) + " / " + num(b.needed_power)))));
		if (rows.length === 0) rows.push(el("tr", null, el("td", { class: "empty", colspan: 5 }, "no pending blocks")));
		$("pending").replaceChildren(...rows);
		const more = headers.get("X-Satnode-Next") ? " (first " + PENDING_PAGE + " listed)" : "";
		$("pending-summary").textContent = body.blocks.length + " pending, " + body.unendorsed +
			" not endorsed · needed " + num(body.needed_power) + " of " + num(body.total_power) + more;
	}

	// ---- validators and synchronizers ----

	function attendance(v, window, maxMissed) {
		// missed of the last downtime_window rounds; more than
		// downtime_max_missed jails the validator.
		if (v.missed === undefined || !window) return "n/a";
		return num(v.missed) + "/" + num(window) + " missed";
	}

	async function refreshValidators() {
		const { body } = await api("/v1/validators");
		const total = body.total_power || 0;
		const rows = body.validators.map((v) => {
			const share = total > 0 ? 100 * v.power / total : 0;
			let st;
			if (v.tombstoned) st = el("span", { class: "badge bad" }, "tombstoned");
			else if (v.jailed) st = el("span", { class: "badge bad", title: v.jailed_until || "" },
				"jailed" + (v.jailed_until ? " until " + v.jailed_until.slice(0, 10) : ""));
			else st = el("span", { class: v.power > 0 ? "badge good" : "badge" }, v.power > 0 ? "active" : "inactive");
			return el("tr", { "data-operator": v.operator, "data-jailed": v.jailed ? "true" : "false" },
				el("td", { title: v.moniker }, v.moniker || "–"), hashCell(v.operator),
				el("td", { class: "num", title: share.toFixed(2) + "% of the power" },
					el("span", { class: "share", style: "width:" + Math.round(share * 0.6) + "px" }), num(v.power)),
				el("td", { class: "num" }, num(v.tokens)), el("td", { class: "num" }, num(v.self_stake)),
				el("td", { class: "num" }, (v.commission_bps / 100).toFixed(2) + "%"),
				el("td", { title: "rounds missed of the last " + num(body.downtime_window) + "; more than " +
					num(body.downtime_max_missed) + " jails" }, attendance(v, body.downtime_window, body.downtime_max_missed)),
				el("td", null, st));
		});
		if (rows.length === 0) rows.push(el("tr", null, el("td", { class: "empty", colspan: 8 }, "no validators")));
		$("validators").replaceChildren(...rows);
		const jailed = body.validators.filter((v) => v.jailed).length;
		$("validators-summary").textContent = body.validators.length + " · power " + num(total) + ", " +
			num(body.needed_power) + " to endorse" + (jailed ? " · " + jailed + " jailed" : "");
	}

	async function refreshSynchronizers() {
		const { body } = await api("/v1/synchronizers");
		const rows = body.synchronizers.map((s) => el("tr", { "data-address": s.address },
			hashCell(s.address), el("td", { class: "num" }, num(s.bond)), hashCell(s.payout)));
		if (rows.length === 0) rows.push(el("tr", null, el("td", { class: "empty", colspan: 3 }, "no synchronizers")));
		$("synchronizers").replaceChildren(...rows);
		$("synchronizers-summary").textContent = String(body.synchronizers.length);
	}

	// ---- applied blocks ----

	const blocks = new Map(); // height -> stats body
	let fresh = new Set(); // heights that arrived from the stream

	function renderBlocks() {
		const heights = [...blocks.keys()].sort((a, b) => b - a).slice(0, BLOCK_ROWS);
		for (const h of [...blocks.keys()]) if (!heights.includes(h)) blocks.delete(h);
		const rows = heights.map((h) => {
			const s = blocks.get(h);
			return el("tr", { "data-height": s.height, "data-hash": s.hash, class: fresh.has(h) ? "fresh" : "" },
				el("td", null, num(s.height)), hashCell(s.hash), el("td", { class: "num" }, num(s.txs)),
				el("td", { class: "num" }, num(s.inputs)), el("td", { class: "num" }, num(s.outputs)),
				el("td", { class: "num" }, btc(s.fees)), el("td", { class: "num" }, btc(s.subsidy)),
				el("td", { class: "num" }, s.coin_days_destroyed), el("td", { class: "num" }, bytes(s.size)),
				el("td", null, utc(s.time)), el("td", null, s.final ? "yes" : "no"));
		});
		fresh = new Set();
		if (rows.length === 0) rows.push(el("tr", null, el("td", { class: "empty", colspan: 11 }, "no blocks yet")));
		$("blocks").replaceChildren(...rows);
	}

	async function fetchBlock(id) {
		try {
			return (await api("/v1/block/" + encodeURIComponent(id) + "/stats")).body;
		} catch (e) {
			if (e.status === 404) return null; // reorged away or not there yet
			throw e;
		}
	}

	// syncBlocks makes the list end at tip: it drops rows above it and
	// fetches the missing heights (all of them again after a reorg, found
	// by a row whose prev_hash does not match the row below).
	let syncing = null;
	let wantTip = null;
	function syncBlocks(tip) {
		wantTip = tip;
		if (!syncing) {
			syncing = (async () => {
				let done;
				do {
					done = wantTip;
					await doSyncBlocks(done);
				} while (wantTip !== done);
			})().finally(() => { syncing = null; });
		}
		return syncing;
	}

	async function doSyncBlocks(tip) {
		for (const h of [...blocks.keys()]) if (h > tip.height) blocks.delete(h);
		const atTip = blocks.get(tip.height);
		if (atTip && atTip.hash !== tip.hash) blocks.clear();
		for (const [h, s] of blocks) {
			const below = blocks.get(h - 1);
			if (below && below.hash !== s.prev_hash) { blocks.clear(); break; }
		}
		const want = [];
		for (let h = tip.height; h >= 0 && h > tip.height - BLOCK_ROWS; h--) if (!blocks.has(h)) want.push(h);
		if (want.length === 0) return;
		const got = await Promise.all(want.map((h) => fetchBlock(String(h))));
		for (const s of got) if (s) blocks.set(s.height, s);
		renderBlocks();
	}

	async function blockEvent(m) {
		if (m.type === "block_disconnected") {
			const s = blocks.get(m.height);
			if (s && s.hash === m.hash) blocks.delete(m.height);
			renderBlocks();
			return;
		}
		const s = await fetchBlock(m.hash);
		if (!s) return;
		for (const h of [...blocks.keys()]) if (h >= s.height) blocks.delete(h);
		blocks.set(s.height, s);
		fresh.add(s.height);
		renderBlocks();
	}

	// ---- the stream ----

	let backoff = 1000;
	let refreshTimer = null;

	function streamState(state, text) {
		const box = $("stream-state");
		box.dataset.state = state;
		const dot = state === "open" ? "on" : state === "connecting" ? "wait" : "off";
		box.replaceChildren(el("span", { class: "dot " + dot }), text);
	}

	// soon refreshes everything a commit changes, once per burst of events.
	function soon() {
		if (refreshTimer) return;
		refreshTimer = setTimeout(() => { refreshTimer = null; pollOnce(); }, 150);
	}

	function connect() {
		let ws;
		try {
			const proto = location.protocol === "https:" ? "wss:" : "ws:";
			ws = new WebSocket(proto + "//" + location.host + "/v1/stream");
		} catch (e) {
			setError("stream", e.message);
			setTimeout(connect, backoff);
			return;
		}
		streamState("connecting", "stream connecting");
		ws.onopen = () => { backoff = 1000; };
		ws.onmessage = (ev) => {
			let m;
			try { m = JSON.parse(ev.data); } catch (e) { setError("stream", "non-JSON message: " + e.message); return; }
			if (m.type === "hello") {
				streamState("open", "stream live");
				setError("stream", "");
			} else if (m.type === "block_connected" || m.type === "block_disconnected") {
				if (m.at && m.at.chain_height >= latest) {
					// The tip after the commit, at once; the rest follows.
					latest = m.at.chain_height;
					renderTip("tip-canonical", { height: m.at.height, hash: m.at.hash });
				}
				guard("blocks", () => blockEvent(m)).then(soon);
			} else if (m.type === "error") {
				setError("stream", m.error || "stream error");
			}
		};
		ws.onclose = (ev) => {
			const wait = backoff;
			backoff = Math.min(STREAM_BACKOFF_MAX, backoff * 2);
			streamState("closed", "stream closed (" + ev.code + "), retrying in " + Math.round(wait / 1000) + "s");
			setTimeout(connect, wait);
		};
		ws.onerror = () => { /* onclose follows and retries */ };
	}

	// ---- lookup ----

	function lookupShow(kind, state, ...children) {
		const box = $("lookup-result");
		box.dataset.kind = kind;
		box.dataset.status = state;
		box.replaceChildren(...children.filter((c) => c !== null && c !== undefined));
	}

	// raw shows an API answer as it came, folded.
	function raw(path, obj) {
		return el("details", null, el("summary", null, "answer of " + path), el("pre", null, JSON.stringify(obj, null, 2)));
	}

	async function lookupOutpoint(txid, vout) {
		try {
			const path = "/v1/utxo/" + txid + "/" + vout;
			const { body } = await api(path);
			lookupShow("outpoint", "ok",
				el("div", null, "Unspent: " + btc(body.value) + " BTC at height " + num(body.height) + " (" +
					num(body.confirmations) + " confirmations" + (body.final ? ", final" : "") + (body.coinbase ? ", coinbase" : "") + ")"),
				raw(path, body));
		} catch (e) {
			if (e.status === 404) {
				lookupShow("outpoint", "notfound", el("div", null, "No unspent output " + txid + ":" + vout +
					" (spent, or it never existed)."));
				return;
			}
			throw e;
		}
	}

	async function lookupScript(kind, id) {
		const base = (kind === "address" ? "/address/" : "/scripthash/") + encodeURIComponent(id);
		const [{ body: info }, { body: utxos, headers }] = await Promise.all([api(base), api(base + "/utxo?limit=" + LOOKUP_UTXOS)]);
		const cs = info.chain_stats || {};
		const balance = (cs.funded_txo_sum || 0) - (cs.spent_txo_sum || 0);
		const rows = utxos.map((u) => el("tr", { "data-outpoint": u.txid + ":" + u.vout },
			el("td", { class: "mono", title: u.txid }, short(u.txid) + ":" + u.vout), el("td", { class: "num" }, btc(u.value)),
			el("td", { class: "num" }, u.status && u.status.block_height !== undefined ? num(u.status.block_height) : "–")));
		const more = headers.get("X-Satnode-Next");
		lookupShow(kind, "ok",
			el("div", null, (kind === "address" ? "Address " : "Script hash ") + id + ": balance " + btc(balance) + " BTC in " +
				num((cs.funded_txo_count || 0) - (cs.spent_txo_count || 0)) + " unspent outputs"),
			el("table", null, el("thead", null, el("tr", null, el("th", null, "Outpoint"), el("th", { class: "num" }, "Value (BTC)"),
				el("th", { class: "num" }, "Height"))), el("tbody", null, ...rows)),
			more ? el("div", { class: "hint" }, "First " + LOOKUP_UTXOS + " listed; the next page starts after " + more + ".") : null,
			raw(base, info));
	}

	async function lookup(input) {
		const q = input.trim();
		if (q === "") {
			lookupShow("", "", el("div", { class: "hint" }, "Enter txid:vout, an address or a script hash."));
			return;
		}
		lookupShow("", "loading", el("div", { class: "hint" }, "Looking up " + q + "…"));
		const op = /^([0-9a-fA-F]{64}):(\d{1,10})$/.exec(q);
		try {
			if (op) await lookupOutpoint(op[1].toLowerCase(), op[2]);
			else if (/^[0-9a-fA-F]{64}$/.test(q)) await lookupScript("scripthash", q.toLowerCase());
			else await lookupScript("address", q);
		} catch (e) {
			lookupShow("", "error", el("div", { class: "err" }, e.message || String(e)));
		}
	}

	// ---- polling ----

	// refreshRest refreshes the sections after the tips. Before the first
	// commit there is nothing to ask for: they say so, without errors.
	function refreshRest() {
		if (status === null) {
			for (const [key, cols] of [["pending", 5], ["blocks", 11], ["validators", 8], ["synchronizers", 3]]) {
				setError(key, "");
				$(key).replaceChildren(el("tr", null, el("td", { class: "empty", colspan: cols }, "no committed state yet")));
			}
			return Promise.resolve();
		}
		return Promise.all([
			guard("pending", refreshPending),
			guard("validators", refreshValidators),
			guard("synchronizers", refreshSynchronizers),
		]);
	}

	// pollOnce refreshes every section; asked while a refresh runs, it
	// runs once more after it, so that no commit's refresh is lost.
	let polling = null;
	let again = false;
	function pollOnce() {
		if (polling) {
			again = true;
			return polling;
		}
		polling = guard("status", refreshStatus).then(refreshRest).finally(() => {
			polling = null;
			if (again) {
				again = false;
				pollOnce();
			}
		});
		return polling;
	}

	function schedule() {
		setTimeout(() => { pollOnce().finally(schedule); }, pollSeconds * 1000);
	}

	$("lookup-form").addEventListener("submit", (ev) => {
		ev.preventDefault();
		lookup($("lookup-input").value);
	});

	pollOnce().finally(schedule);
	connect();
})();
