package jpegscale

import (
	"errors"
	"image"
)

// Plan is what decoding a JPEG at a given minimum side will cost, read from its
// headers alone: nothing is allocated for the pixels.
type Plan struct {
	Width, Height int  // full size
	Components    int  // 0 when the frame header was not reached
	Progressive   bool // from the frame marker, known even for a refused frame
	Denom         int  // the scale Decode will use
	// Bytes is the most DecodeBytes will hold at once: every component's plane at
	// the chosen scale, the coefficients of a progressive file (64 per block at
	// full resolution when any AC coefficient is kept: refinement scans need them
	// all; 1 when only DC is) and the output image.
	Bytes int64
}

// PlanBytes parses data's headers up to the frame header and says what DecodeBytes
// (data, minSide) would allocate. A frame this decoder refuses comes back with a
// *UnsupportedError (or *FormatError) and whatever was read before it.
func PlanBytes(data []byte, minSide int) (p Plan, err error) {
	defer recoverErr(&err)
	d := &decoder{}
	perr := d.parse(data, false)
	p = Plan{Width: d.width, Height: d.height, Components: len(d.comps), Progressive: d.progressive}
	if perr != nil {
		return p, perr
	}
	if !d.sof {
		return p, formatErr("no frame header")
	}
	d.denom = chooseDenom(d.width, d.height, minSide)
	d.setScale()
	p.Denom = d.denom
	for _, c := range d.comps {
		p.Bytes += int64(c.stride) * int64(c.bh*c.ky)
		if d.progressive {
			p.Bytes += int64(c.bw) * int64(c.bh) * int64(c.ncoef) * 2
		}
	}
	w, h := (d.width+d.denom-1)/d.denom, (d.height+d.denom-1)/d.denom
	bpp := int64(4)
	if len(d.comps) == 1 {
		bpp = 1
	}
	p.Bytes += int64(w) * int64(h) * bpp
	return p, nil
}

// Size is the image Decode returns for a plan: the full size at 1/Denom.
func (p Plan) Size() image.Point {
	if p.Denom == 0 {
		return image.Point{}
	}
	return image.Pt((p.Width+p.Denom-1)/p.Denom, (p.Height+p.Denom-1)/p.Denom)
}

// IsUnsupported reports whether err is a feature this decoder lacks (another
// decoder may read the file), as opposed to damaged data.
func IsUnsupported(err error) bool {
	var ue *UnsupportedError
	return errors.As(err, &ue)
}
