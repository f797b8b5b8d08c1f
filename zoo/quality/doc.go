// Package quality measures how well fosql's uniqueness ranking finds
// near-duplicates and rare content on real image collections that fosql
// did not make: Debian's Tux Paint stamps (drawings), its desktop
// wallpapers (photographs) and Fashion-MNIST (small greyscale photos).
//
// For near-duplicates, [Build] takes up to a number of originals from a
// collection (seeded), plants one copy of each with a transform from
// zoo.PlantKinds dealt out in turn (original i gets transform i mod T),
// and writes the ground truth beside the copies. [EvaluateRounds] then
// scores a method's embeddings of the set with the brain's own functions,
// as COMPUTE UNIQUENESS and COMPUTE DUPLICATES run them ([Rank]), in
// [Rounds] rankings that each hold every original and a quarter of the
// copies: nn (a copy's nearest other sample is its original), low (the
// copy is among the 2·C least unique of its ranking, C copies) and the
// precision and recall of the duplicate pairs at the default threshold.
//
// For rare content, [RarePools] draws pools of many samples of one class
// plus one of another, and [EvaluateRare] reports how often the odd one is
// among the 5 most unique, and its mean rank.
//
// Methods are named: every fosql model ([Models]) and the perceptual
// hashes pHash and dHash of github.com/corona10/goimagehash, compared by
// Hamming distance; [Open] resolves a name.
package quality
