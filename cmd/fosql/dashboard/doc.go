// Package dashboard is fosql's local web dashboard: a page over one
// database that shows a query's samples as a grid of thumbnails (paged,
// any result size), opens a sample with all its fields, shows each sample
// beside its nearest neighbour (the pairs view), plots a histogram of any
// numeric field and a 2-D PCA map of the stored embeddings, and keeps a
// selection that SQL reads back (WHERE id IN SELECTION).
//
// # What the page may do
//
// The server answers only requests addressed to it: the Host header must
// be its listen address, or localhost, 127.0.0.1 or [::1] with its port
// (a page on another site whose name resolves to 127.0.0.1, DNS
// rebinding, gets 421). The page carries a random per-server token in
// <meta name="fosql-token">, and every request that is not a GET or HEAD
// must send it as X-Fosql-Token (403 otherwise). Media and thumbnails are
// served only by sample id, never by a path from the request. Queries
// from the page are single SELECT statements, run with auto_compute off
// (a page never starts an embedding job), a time budget and pages of at
// most 500 rows.
//
// # Calls
//
//	GET  /                          the page (with the token)
//	GET  /api/datasets              datasets, default queries, numeric fields, saved views, the start query
//	GET  /api/state                 what .view set, and the store's commit epoch (the page polls it)
//	POST /api/query                 {sql, offset, limit}: one page of a SELECT's rows
//	GET  /api/sample/{ds}/{id}      one sample, every field
//	GET  /media/{ds}/{id}           the sample's file
//	GET  /thumb/{ds}/{id}           its thumbnail (ThumbSize px, cached on disk)
//	POST /api/tags                  {dataset, ids | selection: true, tag, remove}
//	GET  /api/selection?dataset=    the stored selection
//	POST /api/selection             {dataset, ids, mode: set|add|remove}
//	GET  /api/histogram?dataset=&field=
//	GET  /api/map?dataset=&color=   the PCA map's points
//	POST /api/map/select            {dataset, polygon, mode}: a region into the selection
//
// Thumbnails are made on the first request and kept as JPEG files named
// by a hash of the source file's path, size and modification time, in
// Options.CacheDir (by default the user's cache directory).
package dashboard
