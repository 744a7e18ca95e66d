package media_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/webchatroom/chatroom/internal/testaudio"
	"github.com/webchatroom/chatroom/internal/testimage"
	"github.com/webchatroom/chatroom/internal/wire"
)

func seconds(n float64) time.Duration { return time.Duration(n * float64(time.Second)) }

// TestUploadRefusesBadInput sends every bad upload of DESIGN §5 and checks
// each gets its error and none leaves anything in storage.
func TestUploadRefusesBadInput(t *testing.T) {
	s := MustServe(t)
	ann, bob, cy := s.MustUser(t, "ann"), s.MustUser(t, "bob"), s.MustUser(t, "cyd")
	dm := s.MustDirect(t, ann, bob)
	png := testimage.PNG(t, testimage.Halves(64, 48))
	webm3s := testaudio.WebM(testaudio.Options{Duration: 3 * time.Second})
	image := func(file []byte) form { return form{Kind: "image", Conversation: "lobby", File: file} }
	voice := func(file []byte, ms, waveform string) form {
		return form{Kind: "voice", Conversation: "lobby", File: file, DurationMS: ms, Waveform: waveform}
	}
	wave129 := make([]int, 129)
	tooManyValues, _ := json.Marshal(wave129)
	for _, c := range []struct {
		name   string
		as     user
		form   form
		status int
		code   string
	}{
		{"logged out", user{}, image(png), 401, "unauthorized"},
		{"no kind", cy, form{Conversation: "lobby", File: png}, 400, "invalid_input"},
		{"unknown kind", cy, form{Kind: "video", Conversation: "lobby", File: png}, 400, "invalid_input"},
		{"no conversation", cy, form{Kind: "image", File: png}, 400, "invalid_input"},
		{"unknown conversation", cy, form{Kind: "image", Conversation: "no-such-room", File: png}, 404, "not_found"},
		{"someone else's direct conversation", cy, form{Kind: "image", Conversation: dm, File: png}, 404, "not_found"},
		{"no file", cy, form{Kind: "image", Conversation: "lobby"}, 400, "invalid_input"},

		{"picture over 10 MiB", cy, image(append(bytes.Clone(png), make([]byte, 10<<20)...)), 413, "image_too_large"},
		{"SVG", cy, form{Kind: "image", Conversation: "lobby", File: []byte(testimage.SVG), Filename: "x.svg"}, 415, "image_unsupported"},
		{"text posing as PNG", cy, form{Kind: "image", Conversation: "lobby", File: []byte("hello, I am text"), Filename: "x.png"}, 415, "image_unsupported"},
		{"HTML posing as JPEG", cy, form{Kind: "image", Conversation: "lobby", File: []byte("<html><script>alert(1)</script>"), Filename: "x.jpg"}, 415, "image_unsupported"},
		{"a voice file as picture", cy, image(webm3s), 415, "image_unsupported"},
		{"truncated PNG", cy, image(png[:40]), 422, "image_invalid"},
		{"truncated GIF", cy, image(testimage.AnimatedGIF(t, 20, 20, 3)[:200]), 422, "image_invalid"},

		{"WAV", cy, voice(testaudio.WAV(seconds(2)), "2000", ""), 415, "voice_unsupported"},
		{"WebM with Vorbis", cy, voice(testaudio.WebM(testaudio.Options{Duration: seconds(2), Codec: "A_VORBIS"}), "2000", ""), 415, "voice_unsupported"},
		{"WebM with video", cy, voice(testaudio.WebM(testaudio.Options{Duration: seconds(2), Codec: "V_VP8"}), "2000", ""), 415, "voice_unsupported"},
		{"Ogg with Vorbis", cy, voice(testaudio.Ogg(testaudio.Options{Duration: seconds(2), Codec: "\x01vorbis"}), "2000", ""), 415, "voice_unsupported"},
		{"MP4 with video", cy, voice(testaudio.MP4(testaudio.Options{Duration: seconds(2), Codec: "avc1"}), "2000", ""), 415, "voice_unsupported"},
		{"a picture as voice", cy, voice(png, "2000", ""), 415, "voice_unsupported"},
		{"text as voice", cy, voice([]byte("not a recording at all"), "2000", ""), 415, "voice_unsupported"},
		{"truncated WebM", cy, voice(webm3s[:60], "3000", ""), 422, "voice_invalid"},
		{"voice over 2 MiB", cy, voice(testaudio.WebM(testaudio.Options{Duration: seconds(3), Pad: 2 << 20}), "3000", ""), 413, "voice_too_large"},
		{"declared over 60 s", cy, voice(testaudio.WebM(testaudio.Options{Duration: seconds(3), NoDuration: true}), "60001", ""), 422, "voice_too_long"},
		{"WebM recording 62 s declared 60 s", cy, voice(testaudio.WebM(testaudio.Options{Duration: seconds(62)}), "60000", ""), 422, "voice_too_long"},
		{"Ogg recording 62 s declared 60 s", cy, voice(testaudio.Ogg(testaudio.Options{Duration: seconds(62)}), "60000", ""), 422, "voice_too_long"},
		{"MP4 recording 62 s declared 60 s", cy, voice(testaudio.MP4(testaudio.Options{Duration: seconds(62)}), "60000", ""), 422, "voice_too_long"},
		{"declared 3 s, recorded 10 s", cy, voice(testaudio.WebM(testaudio.Options{Duration: seconds(10)}), "3000", ""), 422, "voice_invalid"},
		{"no duration", cy, voice(webm3s, "", ""), 400, "duration_invalid"},
		{"duration not a number", cy, voice(webm3s, "3 s", ""), 400, "duration_invalid"},
		{"duration zero", cy, voice(webm3s, "0", ""), 400, "duration_invalid"},
		{"waveform of 129 values", cy, voice(webm3s, "3000", string(tooManyValues)), 400, "waveform_invalid"},
		{"waveform value 256", cy, voice(webm3s, "3000", "[0,12,256]"), 400, "waveform_invalid"},
		{"waveform value -1", cy, voice(webm3s, "3000", "[0,-1,3]"), 400, "waveform_invalid"},
		{"waveform with a fraction", cy, voice(webm3s, "3000", "[0,1.5]"), 400, "waveform_invalid"},
		{"waveform not JSON", cy, voice(webm3s, "3000", "1,2,3"), 400, "waveform_invalid"},
		{"waveform an object", cy, voice(webm3s, "3000", `{"0":1}`), 400, "waveform_invalid"},
		{"waveform of strings", cy, voice(webm3s, "3000", `["1"]`), 400, "waveform_invalid"},
	} {
		t.Run(c.name, func(t *testing.T) {
			r := s.Upload(t, c.as, c.form)
			if r.Status != c.status || r.ErrorCode() != c.code {
				t.Fatalf("got %d %s, want %d %s", r.Status, r.Body, c.status, c.code)
			}
			var body struct{ Error wire.ErrorBody }
			if err := json.Unmarshal(r.Body, &body); err != nil || body.Error.Message == "" {
				t.Fatalf("no message in %s", r.Body)
			}
		})
	}
	if n := objects(t, s.BlobDir); n != 0 {
		t.Fatalf("refused uploads left %d objects in storage", n)
	}
	// the limits themselves are fine
	s.MustUpload(t, cy, voice(testaudio.WebM(testaudio.Options{Duration: seconds(60)}), "60000", string(tooManyValues[:len(tooManyValues)-3])+"]"))
	wave128, _ := json.Marshal(make([]int, 128))
	s.MustUpload(t, cy, voice(testaudio.WebM(testaudio.Options{Duration: seconds(3), NoDuration: true}), "60000", string(wave128)))
	s.MustUpload(t, cy, voice(testaudio.WebM(testaudio.Options{Duration: seconds(3), Pad: 2<<20 - len(webm3s) - 100}), "3000", "[0,255]"))
}

// TestUploadRefusesPixelBombFast uploads a 30000×30000 PNG of 110 KB: the
// header says 900 megapixels, so it is refused before any pixel is decoded.
func TestUploadRefusesPixelBombFast(t *testing.T) {
	s := MustServe(t)
	u := s.MustUser(t, "bomber")
	bomb := testimage.PNGBomb(t, 30000, 30000)
	start := time.Now()
	r := s.Upload(t, u, form{Kind: "image", Conversation: "lobby", File: bomb})
	took := time.Since(start)
	if r.Status != 422 || r.ErrorCode() != "image_too_many_pixels" {
		t.Fatalf("bomb: %d %s", r.Status, r.Body)
	}
	if took > time.Second {
		t.Fatalf("bomb refused after %v: was it decoded?", took)
	}
	// 40 megapixels is allowed, one row more is not
	if r := s.Upload(t, u, form{Kind: "image", Conversation: "lobby", File: testimage.PNGBomb(t, 8000, 5001)}); r.ErrorCode() != "image_too_many_pixels" {
		t.Fatalf("8000×5001: %d %s", r.Status, r.Body)
	}
	t.Logf("30000×30000 PNG (%d KB) refused in %v", len(bomb)>>10, took)
}

// TestVoiceContainers uploads a recording in every accepted container and
// checks what the server found in it.
func TestVoiceContainers(t *testing.T) {
	s := MustServe(t)
	u := s.MustUser(t, "singer")
	for _, c := range []struct {
		name     string
		file     []byte
		declared int
		mime     string
	}{
		{"WebM Opus with Duration", testaudio.WebM(testaudio.Options{Duration: seconds(3.2)}), 3000, "audio/webm"},
		{"WebM Opus as Chrome records it, no Duration", testaudio.WebM(testaudio.Options{Duration: seconds(3.2), NoDuration: true}), 45000, "audio/webm"},
		{"Ogg Opus", testaudio.Ogg(testaudio.Options{Duration: seconds(5)}), 5400, "audio/ogg"},
		{"Ogg Opus with no granule positions", testaudio.Ogg(testaudio.Options{Duration: seconds(5), NoDuration: true}), 20000, "audio/ogg"},
		{"MP4 AAC", testaudio.MP4(testaudio.Options{Duration: seconds(4)}), 4500, "audio/mp4"},
		{"MP4 Opus", testaudio.MP4(testaudio.Options{Duration: seconds(4), Codec: "Opus"}), 4000, "audio/mp4"},
		{"fragmented MP4 AAC, no duration", testaudio.MP4(testaudio.Options{Duration: seconds(4), NoDuration: true}), 9000, "audio/mp4"},
		{"MPEG audio", testaudio.MP3(seconds(2)), 2000, "audio/mpeg"},
	} {
		t.Run(c.name, func(t *testing.T) {
			m := s.MustUpload(t, u, form{Kind: "voice", Conversation: "lobby", File: c.file, DurationMS: fmt.Sprint(c.declared), Waveform: "[0, 40, 255, 7]"})
			if m.Mime != c.mime || m.DurationMS != c.declared || fmt.Sprint(m.Waveform) != "[0 40 255 7]" || m.Size != int64(len(c.file)) || m.ThumbnailURL != "" || m.Width != 0 {
				t.Fatalf("media %+v", m)
			}
			r := s.Get(t, u, m.URL)
			if r.Status != 200 || !bytes.Equal(r.Body, c.file) || r.Header.Get("Content-Type") != c.mime {
				t.Fatalf("download: %d %s, %d bytes, equal %v", r.Status, r.Header.Get("Content-Type"), len(r.Body), bytes.Equal(r.Body, c.file))
			}
		})
	}
	// a declared duration within a second of the recorded one is fine
	for _, declared := range []string{"2000", "4000"} {
		f := form{Kind: "voice", Conversation: "lobby", File: testaudio.WebM(testaudio.Options{Duration: seconds(3)}), DurationMS: declared}
		if r := s.Upload(t, u, f); r.Status != 201 {
			t.Errorf("declared %s ms for 3 s: %d %s", declared, r.Status, r.Body)
		}
	}
	if r := s.Upload(t, u, form{Kind: "voice", Conversation: "lobby", File: testaudio.WebM(testaudio.Options{Duration: seconds(3)}), DurationMS: "4100"}); r.ErrorCode() != "voice_invalid" {
		t.Errorf("declared 4.1 s for 3 s: %d %s", r.Status, r.Body)
	}
	if !strings.Contains(string(testaudio.WebM(testaudio.Options{Duration: seconds(1)})), "A_OPUS") {
		t.Fatal("the WebM fixture lacks its codec ID")
	}
}
