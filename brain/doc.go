// Package brain is fosql's compute core: it turns images into embeddings
// with an ONNX model and ranks samples by uniqueness with an exact k-nearest-
// neighbour search, as FiftyOne Brain's compute_uniqueness does. The
// embedding, k-NN and scoring pieces know nothing of storage: they take
// media, vectors and options and return numbers.
//
// # The pipeline
//
// A uniqueness run is four steps, each usable on its own:
//
//  1. Load a model. DefaultModel is the built-in descriptor-v2: a
//     training-free image descriptor (colour thumbnails and histograms,
//     oriented-gradient energy, all made mirror-symmetric, of the picture
//     with its plain bars trimmed off and of the whole picture, after the
//     wedges a small rotation leaves at the corners are painted over) that
//     this package writes as an ONNX graph in Go, so it needs no download;
//     BuiltinSpec names descriptor-v1 too. LoadModel loads any ONNX
//     image model from a file, given a ModelSpec: input size, layout (NCHW
//     or NHWC), channels (RGB, BGR, or GRAY: one channel of BT.601 luma),
//     scale/mean/std, a fixed batch (read from the model; batch 1 is fed
//     one image at a time), whether rotation wedges are painted over, and
//     the embedding tensor —
//     a graph output or an intermediate tensor, which the loader exposes as
//     an extra output by editing the graph. (*Model).Identity hashes the
//     model bytes and the spec, so stored embeddings can be checked for
//     freshness.
//
//  2. Embed images. Embed reads each Item's Media (a file, bytes in memory,
//     object storage: anything with Open), decodes it (JPEG with its EXIF
//     orientation, PNG, GIF, BMP, WebP, TIFF), refuses decompression bombs
//     from the declared size before decoding, composites transparency over
//     white, resizes to the model input (an integer box filter for large
//     images, then bilinear) and normalises it. Decoding runs on
//     GOMAXPROCS goroutines while ONNX Runtime runs fixed-size batches on
//     another, so the two overlap. An image that cannot be read or decoded
//     is skipped and reported, never the end of the run; cancelling the
//     context stops the run promptly. An image's embedding does not depend
//     on its batch or its place in it: byte-identical files get
//     bit-identical embeddings.
//
//  3. Find neighbours. KNN returns each row's k nearest other rows under
//     Cosine (on mean-centred vectors, FiftyOne's default) or Euclidean
//     distance. The heavy part is a GEMM plus TopK graph run by ONNX
//     Runtime over blocks of rows; only the upper triangle of the distance
//     matrix is computed, memory stays O(n*k), and the candidates'
//     distances are recomputed exactly in float64, so the results match
//     scikit-learn's brute-force NearestNeighbors. A row is excluded from
//     its own neighbours by index, so exact duplicates are neighbours at
//     distance 0. Above ExactWork (n*n*d, about three minutes of exact
//     search here) KNN builds an inverted-file index instead (k-means
//     lists; see ann.go) whose candidates are measured exactly the same
//     way; a uniqueness run stores that index with the dataset and
//     similarity queries reuse it. KNNWith takes a progress callback, a
//     memory bound (block sizes shrink to fit it, or the search fails at
//     once saying what it needs) and forces either search.
//
//  4. Score. UniquenessScores applies FiftyOne Brain's formula, the mean of
//     the K nearest distances weighted 0.6, 0.3, 0.1 (by default), divided
//     by the maximum so the most unique sample scores 1.0. When the largest
//     raw score is below ScoreEpsilon (1e-6) times the distances' scale,
//     the samples cannot be told apart and every score is 0. Uniqueness
//     runs steps 3 and 4 and also reports each sample's nearest neighbour.
//
// Near-duplicates are grouped from the same neighbour lists
// (FindDuplicates: greedy, as FiftyOne Brain's find_duplicates, with a
// neighbourhood test on the embeddings). ComputeDuplicates decides each
// candidate pair on the pictures themselves by default
// (FindDuplicatesWithPixels, PixelCheck): 32 x 32 luma thumbnails made
// through the same decoding, one aligned onto the other in the pictures'
// own proportions and the sharper softened to the other's detail, must
// match as a copy does and better than either matches its other near
// neighbours.
//
// # Bad input
//
// Every vector that enters a run — an embeddings field, a model's output,
// a stored embedding — must hold finite numbers within float32's range
// (ErrBadVector): a bad field value fails the run with an error naming the
// sample and the field, a bad model output skips the image, a bad stored
// embedding is made again. Options are checked before anything runs
// (ValidateWeights, MaxK, MaxBatchSize, finite thresholds).
//
// Images are opened with db.OpenMedia (a local path, or an s3:// object
// read from the dataset's endpoint; see Stored), models and specs with
// db.OpenUserFile. Local files are opened without blocking and must be
// regular files: a FIFO or a device where an image was is a skip
// naming the file, and a model file at most MaxModelBytes (2 GiB, the
// protocol buffer limit) or a spec at most MaxSpecBytes (1 MiB) that is
// not a regular file is an error at once. Image files are at most
// DefaultMaxBytes (256 MiB) and DefaultMaxPixels (64 megapixels).
//
// Decoding memory is bounded per image and in total. The image package
// decodes a whole image at full size, so each image's decode memory is
// estimated from its header (format, size, bit depth, interlacing, JPEG
// sampling and mode) and checked against MaxDecodeBytes (256 MiB): a
// 64-megapixel 8-bit RGBA PNG is decoded whole, a 16-bit RGBA one up to 33
// megapixels (22 interlaced), a baseline 4:2:0 JPEG up to the pixel limit,
// a progressive one up to 35 megapixels. A PNG beyond that is decoded
// scanline by scanline (every pass of an interlaced one) straight into a
// reduced image a few times the model input, in memory of the order of
// the reduced image plus one scanline; an image of another format beyond
// it is skipped before decoding. All decoding in the process, on however
// many cores and runs, shares DecodeBudget (384 MiB) for the files being
// decoded and their estimated decode memory: a worker waits for its share
// first.
//
// A panic in any goroutine a run starts (decoding, inference, k-NN) ends
// the run with an error wrapping db.ErrInternal instead of the program.
//
// # ONNX Runtime
//
// ONNX Runtime is a shared library loaded at run time, only when a brain
// job needs it (InitRuntime; nothing happens at package initialisation). It
// is found through FOSQL_ONNXRUNTIME_LIB, then fosql's cache (filled by
// `make setup`), then the system's library path.
//
// # Concurrency
//
// A Model may be used by several goroutines; Embed itself is parallel.
// KNN uses all cores through ONNX Runtime's thread pool.
package brain
