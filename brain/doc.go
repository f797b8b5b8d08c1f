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
//  1. Load a model. DefaultModel is the built-in descriptor: a training-free
//     image descriptor (colour thumbnails and histograms, oriented-gradient
//     energy, all made mirror-symmetric) that this package writes as an
//     ONNX graph in Go, so it needs no download. LoadModel loads any ONNX
//     image model from a file, given a ModelSpec: input size, layout (NCHW
//     or NHWC), channel order, scale/mean/std, and the embedding tensor —
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
//     context stops the run promptly.
//
//  3. Find neighbours. KNN returns each row's k nearest other rows under
//     Cosine (on mean-centred vectors, FiftyOne's default) or Euclidean
//     distance. The heavy part is a GEMM plus TopK graph run by ONNX
//     Runtime over blocks of rows; only the upper triangle of the distance
//     matrix is computed, memory stays O(n*k), and the candidates'
//     distances are recomputed exactly in float64, so the results match
//     scikit-learn's brute-force NearestNeighbors. A row is excluded from
//     its own neighbours by index, so exact duplicates are neighbours at
//     distance 0.
//
//  4. Score. UniquenessScores applies FiftyOne Brain's formula, the mean of
//     the K nearest distances weighted 0.6, 0.3, 0.1 (by default), divided
//     by the maximum so the most unique sample scores 1.0. Uniqueness runs
//     steps 3 and 4 and also reports each sample's nearest neighbour.
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
