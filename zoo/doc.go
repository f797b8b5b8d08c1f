// Package zoo is fosql's collection of ready-made data: dataset loaders that
// put a known set of images on disk, and (later) a registry of image models
// that can replace the built-in descriptor.
//
// # Datasets
//
// The first loader needs no network at all. [GenerateSynthetic] draws a
// deterministic set of varied pictures — smooth colour gradients, piles of
// overlapping shapes, stripes, checkers, rings and value-noise textures, and
// mixtures of these — and plants a small number of near-duplicates among
// them: crops, low-quality JPEG re-encodes, brightness and contrast shifts,
// resizes, small rotations, mirror images and exact byte copies. The answer
// key is written next to the images (truth.json, and truth.txt for shell
// tools) and can be read back with [LoadSyntheticSet], so the README demo,
// the tests and the uniqueness quality checks all share one reproducible
// dataset whose duplicates are known. [Plant] makes the copies of the
// real-image quality benchmark (package zoo/quality) with that benchmark's
// own transforms and parameters.
//
// [FashionMNIST] is a public collection that loads offline: Debian packages
// it (dataset-fashion-mnist), and the loader turns its IDX files into PNGs
// in the cache once, tags each sample with its split and sets
// ground_truth.label. Loaders for collections that exist only as downloads,
// such as CIFAR-10, follow the same shape (a directory of image files plus
// the labels that came with them) and say so when asked for offline.
//
// # Models
//
// A registry of well-known ONNX image models (their input specification and
// download address, for machines that have a network) will live here too,
// so that the brain can swap its built-in descriptor for a learned one by
// name.
package zoo
