// Package views looks at a dataset through lazily evaluated pipelines of
// stages, as FiftyOne's views do, and plans each pipeline onto the
// storage that db keeps: indexes, the tag index, the full-text index and
// the samples themselves.
//
// # A view is a list of stages
//
// A View is a dataset and a list of stages. New(ds) is the whole dataset
// in id order (ids grow with insertion); every chaining method (SortBy,
// MatchTags, Limit, Skip, Match, TextMatch, Exists, Select, Exclude,
// Take, SelectFields, ExcludeFields) returns a new View and leaves its
// receiver as it was. Building and chaining read nothing. Work starts
// when a view is iterated (Iter, First, IDs, Values) or aggregated
// (Count, Distinct, Bounds, CountValues, Sum, Mean); each call plans the
// pipeline afresh against the dataset's current indexes. A View never
// changes once built, so it is safe for concurrent use.
//
// Stages apply in the order given, with FiftyOne's meaning:
//
//   - sort_by orders by one or more keys, each ascending or descending (a
//     reverse flag flips them all), comparing values with db.Compare
//     (missing < null < bool < numbers < strings < lists < documents, ints
//     and floats numerically). Missing values therefore come first
//     ascending and last descending. Ties are broken by id ascending,
//     whatever the direction, so every order is total and deterministic.
//   - match_tags keeps the samples with any of the tags; with all, with
//     every one; negated, the others.
//   - limit(n) keeps the first n rows; n <= 0 gives an empty view.
//     skip(n) drops the first n; n <= 0 changes nothing.
//   - match keeps the rows an Expr holds for. Comparisons, IN and LIKE
//     follow SQL: on a missing or null value they are false, and so is
//     their negation (Ne, NOT IN, NOT LIKE, and Not, which is pushed down
//     to the comparisons); Exists tests presence (IS NOT NULL, IS NULL).
//   - text_match keeps the samples the dataset's full-text index finds for
//     any of the words (the index holds the stored text, whatever field
//     stages hide); exists keeps the samples whose path holds a non-null
//     value (negated: missing or null).
//   - select keeps the given ids (ids not in the dataset are ignored), in
//     view order, or with Ordered in the order given; exclude drops them.
//   - take(n, seed) keeps n rows chosen by a hash of (seed, id): the rows
//     with the n smallest hashes, in hash order. The same seed gives the
//     same rows in the same order, whatever came before; n <= 0 is empty.
//   - select_fields and exclude_fields change what the view shows: id,
//     filepath, tags and metadata always show; select_fields keeps the
//     named paths (a dotted path keeps that subfield of its document),
//     exclude_fields hides them. Every later stage, every aggregation and
//     Doc read through this mask, so a hidden field reads as missing.
//
// # Planning
//
// A plan is a tree of nodes, each of which prints itself; Explain shows
// the tree a view would run, root first, inputs indented under the node
// that reads them. Planning reads only the dataset's metadata (which
// paths have an index), never a sample.
//
// The planner first cuts the pipeline into blocks. Within a block,
// filters (match_tags, match, exists, text_match, select, exclude) commute
// with an order, because every order is total: filtering then sorting
// keeps the same rows in the same order as sorting then filtering. A
// later order replaces an earlier one for the same reason. What does not
// commute is a window: limit, skip, and take (which is a hash order with a
// limit) decide which rows pass, so a stage after a window starts the
// next block. A block is therefore: filters, at most one order, a window.
//
// The first block reads the dataset, and the planner chooses how:
//
//   - An order on one key that has an index (every insights.<group>.scalar
//     is indexed automatically; db's CreateIndex indexes user fields)
//     becomes an index scan in that direction. The filters run on each
//     sample as it is fetched, filters on ids before the fetch, and the
//     scan stops as soon as the window above it has its rows: sort by an
//     indexed field with limit 10 reads about ten index entries and ten
//     samples. An index lists equal values in ascending id order, so a
//     descending scan meets them in descending id order; it holds back
//     each run of equal values (only their ids) and lets it go in
//     ascending id order, so that ties come out as the sort defines them.
//   - Otherwise the rows come in id order from the cheapest source a
//     filter offers: select's ids (fetched in batches), the tag index for
//     a match_tags (or a match on "tags" contains) that is any-of or
//     all-of and not negated (several tags are merged from their id
//     streams, deduplicated or intersected), the full-text index for a
//     text_match, or else a full scan. A full scan runs on several
//     goroutines over parts of the key range, each in one shared
//     snapshot; filters right above it run inside those goroutines on
//     samples read in place, and only the samples that pass are copied.
//     The scan leaves insights out when nothing reads them.
//   - An order that no index serves becomes, with a window, a bounded
//     heap of skip+limit rows (memory O(skip+limit) samples, and with a
//     full scan one heap per goroutine, merged at the end); without a
//     window, a sort that keeps only each row's id and encoded sort key
//     (about 50 bytes per row plus the key, whose encoding takes 17 bytes
//     for a number: some 80 MB for a million rows sorted on one number),
//     sorts them, and then fetches the samples by id in batches. A select with Ordered reads its ids in the given
//     order.
//
// Later blocks read the rows of the block before them: filters apply to
// the stream; an order becomes a heap or a sort as above; an ordered
// select collects at most its own ids and puts them in order.
//
// What the caller reads shapes the plan too. Count of a view without
// stages is the dataset's count; the order of the last block never
// changes how many rows pass, so Count drops it and clips by the window
// arithmetically. When nothing above a source reads a field (IDs, Count,
// Values of id), index scans, the tag index and the text index yield ids
// without fetching samples, and a full scan reads keys only. Aggregations
// that do not depend on order (Distinct, Bounds, CountValues, Sum, Mean,
// Count) run a full scan unordered, one accumulator per goroutine.
//
// A view reads one snapshot per source, but a plan may use several
// (a sort fetches its samples after sorting, an index scan fetches in
// batches), so writes made while a view is being read may show in part.
package views
