// Package db is fosql's storage: databases, datasets and samples kept in
// Badger, with the indexes that let a query read only what it returns.
//
// # Values
//
// A sample is a document. Its fields hold typed values (Value): null,
// bool, int, float, string, list, and nested documents addressed by
// dotted paths such as ground_truth.label. Values of different kinds order
// as MongoDB orders BSON types — missing < null < bool < numbers <
// strings < lists < documents — with ints and floats compared as numbers
// and NaN below every other number. AppendKey encodes a value so that the
// bytes sort in that same order, which is what makes an index scan return
// rows in ORDER BY order.
//
// # Vectors
//
// A list of floats — an embedding a user stores in a field — is kept in a
// compact form: 4 bytes a value when every value is exactly a float32, 8
// otherwise, instead of a kind byte and 8 bytes per item (see Record). The
// form is the codec's business only: decoded, it is the same list of
// Float values, so SELECT and JSON show exactly what was written. Brain
// jobs read such a field with Dataset.ScanVectors, which streams every
// sample's vector through Record.Vector into one reused []float32 buffer
// without building a Value per item; lists in the general form (written
// before, or holding ints) read the same way.
//
// # Keys
//
// Every key of a dataset starts with a one-byte table tag and the
// dataset's internal id, never its name, so a rename writes one key and a
// drop is a prefix delete:
//
//	s dsid id              the sample's document (Record)
//	f dsid filepath        the id of the sample with that filepath (unique)
//	t dsid tag id          the tag index, one entry per tag per sample
//	i dsid index value id  a field index, one entry per sample (missing too)
//	n dsid gen id          a sample's values in one insights generation
//	e dsid space id        a stored embedding, per model
//	a dsid space part      a vector index over a space, in pieces (PutVectorIndex)
//	x dsid id              a write the full-text index has not seen yet
//	d dsid                 the dataset's description (schema, version, runs)
//	j dsid [batch]         the undo journal of a statement in progress
//	l dsid                 the selection: the picked sample ids, ascending
//	v dsid name            a saved view (CREATE VIEW name AS SELECT …)
//	m dsid [chunk]         the metadata columns: the ints of the metadata
//	                       fields packed a few thousand samples per key
//
// Every write keeps all of them in step inside one Badger transaction,
// except the metadata columns: derived data stamped with the dataset's
// version, read only while that version is current (see columns.go). A
// statement too large for one transaction commits in batches under an
// undo journal (see journal.go): it is all-or-nothing across an error, a
// cancel and a crash.
//
// # Insights
//
// Computed values live under insights.<group>.<key>, outside the sample
// document, in generations. A run writes a new generation beside the live
// one (InsightStage), and Commit switches the dataset to it in one step
// together with the run record. Until then readers see the old values; a
// run that fails, is cancelled or dies with its process leaves them
// exactly as they were, and its staged rows are removed on the next open.
// Every insights.<group>.scalar is indexed.
//
// # Versions
//
// A dataset's version changes with every write that can change an
// insight's answer: samples added or removed, a filepath or metadata
// changed, or a field that a run read (MarkInputField) written. Tag and
// insight writes keep it. A run records the version it read; equal
// versions mean the run still describes the data.
//
// # Full-text search
//
// Each dataset has a bleve index (bleve's upside-down index in a Bolt
// file) over filepath, tags and string fields, stored beside Badger. Writes leave a marker key in their transaction and
// Search applies the markers before it answers, so the index is never
// behind a committed write and a crash cannot lose an update; an index
// found missing or behind on open is rebuilt from the samples.
//
// # Processes
//
// One process owns a database directory at a time; another process
// opening it gets ErrLocked at once. Within the process a DB is safe for
// concurrent use: reads are snapshots, writes are serialised.
package db
