package quality

import (
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"image"
	_ "image/jpeg" // wallpapers
	_ "image/png"  // stamps, wallpapers, Fashion-MNIST
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"

	"github.com/fosql/fosql/brain"
	"github.com/fosql/fosql/zoo"
)

// Names of the collections.
const (
	Tuxpaint   = "tuxpaint-stamps"
	Wallpapers = "wallpapers"
	Fashion    = zoo.FashionMNIST
	// Openclipart is kept out of the default run: no model or bound is
	// chosen on it, so it checks the figures on drawings they were not
	// fitted to (fosql quality -collections openclipart).
	Openclipart = "openclipart"
)

// DefaultCollections are the collections a run scores unless told.
var DefaultCollections = []string{Tuxpaint, Wallpapers, Fashion}

// Default places of the collections' Debian packages.
var (
	// TuxpaintDir is where tuxpaint-stamps-default installs its stamps.
	TuxpaintDir = "/usr/share/tuxpaint/stamps"
	// WallpaperDirs are where Debian's wallpaper packages install
	// (plasma-workspace-wallpapers, gnome-backgrounds, mate-backgrounds,
	// ukui-wallpapers, lomiri-wallpapers, sway-backgrounds).
	WallpaperDirs = []string{"/usr/share/wallpapers", "/usr/share/backgrounds"}
	// OpenclipartDir is where openclipart-png installs its drawings.
	OpenclipartDir = "/usr/share/openclipart/png"
)

// ErrAbsent means a collection's package is not installed.
var ErrAbsent = errors.New("quality: collection not installed")

// Original is one picture of a collection.
type Original struct {
	Path  string
	Label string // its class: a stamp's category, a Fashion-MNIST class, "wallpaper"
}

// Collection is a set of distinct pictures.
type Collection struct {
	Name      string
	Originals []Original
	// Natural counts the files left out as other resolutions, links or
	// byte copies of a picture already taken (a wallpaper's other sizes).
	Natural int
	// TooLarge counts the files left out because they declare more
	// pixels than the brain reads (brain.DefaultMaxPixels).
	TooLarge int
}

// rasterExt are the file kinds both the brain and Go's decoders read.
var rasterExt = map[string]bool{".png": true, ".jpg": true, ".jpeg": true}

// LoadTuxpaint lists the PNG stamps under dir (SVG stamps are left out:
// nothing here renders SVG), one per distinct file content and per
// distinct picture (a stamp's mirror copy, name_mirror.png, and twins such
// as b and d, see leaveOutTwins, count as natural duplicates), labelled by
// their top-level category folder (animals, town, vehicles, …).
func LoadTuxpaint(dir string) (*Collection, error) {
	return loadDrawings(Tuxpaint, dir, "stamps", "tuxpaint-stamps-default")
}

// LoadOpenclipart lists the PNG drawings under dir as LoadTuxpaint lists
// stamps, labelled by their category folder.
func LoadOpenclipart(dir string) (*Collection, error) {
	return loadDrawings(Openclipart, dir, "drawings", "openclipart-png")
}

// loadDrawings is LoadTuxpaint for the collection name, whose pictures
// (what) the Debian package pkg installs under dir.
func loadDrawings(name, dir, what, pkg string) (*Collection, error) {
	files, links, err := rasterFiles([]string{dir})
	if err != nil {
		return nil, err
	}
	if len(files) == 0 {
		return nil, fmt.Errorf("%w: no %s in %s (apt-get install %s)", ErrAbsent, what, dir, pkg)
	}
	files, repeats, err := distinctFiles(files)
	if err != nil {
		return nil, err
	}
	c := &Collection{Name: name, Natural: links + repeats}
	files, c.TooLarge, err = readableFiles(files)
	if err != nil {
		return nil, err
	}
	have := make(map[string]bool, len(files))
	for _, f := range files {
		have[f] = true
	}
	for _, f := range files {
		// Tux Paint draws a flipped stamp from name_mirror.png beside
		// name.png: the package's own mirror copy, a natural duplicate.
		ext := filepath.Ext(f)
		if base, ok := strings.CutSuffix(strings.TrimSuffix(f, ext), "_mirror"); ok && have[base+ext] {
			c.Natural++
			continue
		}
		rel, _ := filepath.Rel(dir, f)
		label, _, _ := strings.Cut(filepath.ToSlash(rel), "/")
		c.Originals = append(c.Originals, Original{Path: f, Label: label})
	}
	return c, leaveOutTwins(c)
}

// LoadWallpapers lists one file per distinct wallpaper under dirs, by its
// largest resolution: a KDE wallpaper folder's images
// (…/contents/images/WxH.jpg) and its preview (…/contents/screenshot.png)
// are one wallpaper, as are files named alike but for a resolution
// (Name.jpg, Name_3840x2160.jpg, and Name_768x1024_Portrait.jpg with
// Name_1136x640_Portrait.jpg); a file whose bytes were seen already is
// left out, as are symbolic links (a wallpaper's other sizes, in Debian's
// packages). Every left-out file is counted in Natural.
func LoadWallpapers(dirs []string) (*Collection, error) {
	files, links, err := rasterFiles(dirs)
	if err != nil {
		return nil, err
	}
	if len(files) == 0 {
		return nil, fmt.Errorf("%w: no wallpapers in %s (apt-get install plasma-workspace-wallpapers gnome-backgrounds mate-backgrounds ukui-wallpapers lomiri-wallpapers sway-backgrounds)",
			ErrAbsent, strings.Join(dirs, ", "))
	}
	type best struct {
		path string
		area int
	}
	groups := map[string]*best{}
	var order []string
	files, repeats, err := distinctFiles(files)
	if err != nil {
		return nil, err
	}
	c := &Collection{Name: Wallpapers, Natural: links + repeats}
	for _, f := range files {
		key := wallpaperKey(f)
		cfg, err := decodeConfig(f)
		if err != nil {
			return nil, err
		}
		area := cfg.Width * cfg.Height
		g := groups[key]
		switch {
		case g == nil:
			groups[key] = &best{f, area}
			order = append(order, key)
		case area > g.area:
			g.path, g.area = f, area
			c.Natural++
		default:
			c.Natural++
		}
	}
	for _, k := range order {
		c.Originals = append(c.Originals, Original{Path: groups[k].path, Label: "wallpaper"})
	}
	return c, nil
}

// wallpaperKey names the wallpaper a file shows: the images folder of a
// KDE wallpaper for its images of every size and for its preview, else
// the file's folder and name without a resolution suffix.
func wallpaperKey(f string) string {
	dir, base := filepath.Dir(f), filepath.Base(f)
	name := strings.TrimSuffix(base, filepath.Ext(base))
	switch {
	case filepath.Base(dir) == "contents" && name == "screenshot":
		return filepath.Join(dir, "images")
	case filepath.Base(filepath.Dir(dir)) == "contents":
		return dir
	}
	return filepath.Join(dir, resolutionInName.ReplaceAllString(name, "$1"))
}

// resolutionInName is a resolution in a file name, at its end
// (_3840x2160) or before a last word (_768x1024_Portrait).
var resolutionInName = regexp.MustCompile(`[_-][0-9]+x[0-9]+([_-][A-Za-z]+)?$`)

// LoadFashion converts the first n pictures of Fashion-MNIST's test split
// to PNG files in cacheDir ("" for the zoo's cache) and lists them with
// their classes.
func LoadFashion(ctx context.Context, cacheDir string, n int) (*Collection, error) {
	paths, labels, err := zoo.FashionMNISTFiles(ctx, zoo.LoadRequest{Split: "test", CacheDir: cacheDir}, n)
	if errors.Is(err, zoo.ErrNotInstalled) {
		return nil, fmt.Errorf("%w: %w", ErrAbsent, err)
	}
	if err != nil {
		return nil, err
	}
	c := &Collection{Name: Fashion}
	for i, p := range paths {
		c.Originals = append(c.Originals, Original{Path: p, Label: labels[i]})
	}
	return c, nil
}

// readableFiles keeps the files whose pictures the brain reads, those
// within brain.DefaultMaxPixels, and counts the others.
func readableFiles(files []string) (kept []string, tooLarge int, err error) {
	for _, f := range files {
		cfg, err := decodeConfig(f)
		if err != nil {
			return nil, 0, err
		}
		if int64(cfg.Width)*int64(cfg.Height) > brain.DefaultMaxPixels {
			tooLarge++
			continue
		}
		kept = append(kept, f)
	}
	return kept, tooLarge, nil
}

// distinctFiles keeps the first of the files with the same bytes, in
// order, and counts the others.
func distinctFiles(files []string) (distinct []string, repeats int, err error) {
	seen := map[[32]byte]bool{}
	for _, f := range files {
		sum, err := fileHash(f)
		if err != nil {
			return nil, 0, err
		}
		if seen[sum] {
			repeats++
			continue
		}
		seen[sum] = true
		distinct = append(distinct, f)
	}
	return distinct, repeats, nil
}

// rasterFiles lists the PNG and JPEG files under dirs, sorted, and counts
// the symbolic links to such files (Debian's wallpaper packages link a
// wallpaper's other sizes to one file); a folder that does not exist holds
// none.
func rasterFiles(dirs []string) (files []string, links int, err error) {
	var out []string
	for _, dir := range dirs {
		err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
			if err != nil {
				if errors.Is(err, fs.ErrNotExist) {
					return nil
				}
				return err
			}
			if !rasterExt[strings.ToLower(filepath.Ext(p))] {
				return nil
			}
			if d.Type().IsRegular() {
				out = append(out, p)
			} else if d.Type()&fs.ModeSymlink != 0 {
				links++
			}
			return nil
		})
		if err != nil {
			return nil, 0, fmt.Errorf("quality: list %s: %w", dir, err)
		}
	}
	sort.Strings(out)
	return out, links, nil
}

// fileHash is the SHA-256 of a file's bytes.
func fileHash(path string) ([32]byte, error) {
	var sum [32]byte
	f, err := os.Open(path)
	if err != nil {
		return sum, fmt.Errorf("quality: %w", err)
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		return sum, fmt.Errorf("quality: read %s: %w", path, err)
	}
	copy(sum[:], h.Sum(nil))
	return sum, nil
}

// decodeConfig reads an image file's size.
func decodeConfig(path string) (image.Config, error) {
	f, err := os.Open(path)
	if err != nil {
		return image.Config{}, fmt.Errorf("quality: %w", err)
	}
	defer f.Close()
	cfg, _, err := image.DecodeConfig(f)
	if err != nil {
		return image.Config{}, fmt.Errorf("quality: %s: %w", path, err)
	}
	return cfg, nil
}

// decodeFile decodes an image file.
func decodeFile(path string) (image.Image, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("quality: %w", err)
	}
	defer f.Close()
	img, _, err := image.Decode(f)
	if err != nil {
		return nil, fmt.Errorf("quality: decode %s: %w", path, err)
	}
	return img, nil
}
