// Package zoo is fosql's collection of ready-made data: dataset loaders that
// put a known set of images on disk, and a registry of image models that can
// replace the built-in descriptor.
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
// ground_truth.label. [MNIST], [CIFAR10] and [CIFAR100] exist only as
// downloads, and the zoo never downloads: it reads the publisher's files
// (MNIST's gzipped IDX files, CIFAR's binary tar.gz) from where the user
// names them or from the cache folder, checks their size and digests
// against the official values unless told not to, converts them to PNGs
// in the same way, and sets the same field (CIFAR-100 also
// ground_truth.coarse_label). A missing file is an error that names it,
// its official address and where to put it.
//
// # Models
//
// Models lists the image models fosql knows: the built-in descriptor, the
// pretrained CNN mobilenet-v2 that `make setup` converts from nsfwjs's
// TensorFlow.js model into the cache, and well-known ONNX models (ResNet-50,
// CLIP ViT-B/32's image encoder) with their download addresses for machines
// that have a network. Each entry gives the embedding size, the input
// specification (size, layout, mean/std, tensor names) and the licence;
// ModelInfo.Path is where its file lives under ModelDir, and ModelInfo.Check
// says, when the file is missing, where to put it and how to get it. The
// zoo only describes models: the query layer turns an entry into the
// brain's model spec.
package zoo
