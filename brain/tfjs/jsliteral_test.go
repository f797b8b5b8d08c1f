package tfjs

import "testing"

func TestJSLiteralToJSON(t *testing.T) {
	cases := []struct{ in, want string }{
		{`{a:1,"b c":[.5,-.25,1e-3,0x10],$d:!0,e:!1,f:null,g:void 0}`, `{"a":1,"b c":[0.5,-0.25,0.001,16],"$d":true,"e":false,"f":null,"g":null}`},
		{`{s:'it\'s',t:"a\"b\\c\u00e9\x41\n"}`, `{"s":"it's","t":"a\"b\\cé` + "A" + `\n"}`},
		{`[1,2,]`, `[1,2]`},
		{`{1:{},x:[]}`, `{"1":{},"x":[]}`},
		{` "abc" rest`, `"abc"`},
	}
	for _, tc := range cases {
		got, _, err := jsLiteralToJSON([]byte(tc.in))
		if err != nil || string(got) != tc.want {
			t.Errorf("%s: got %s, %v; want %s", tc.in, got, err, tc.want)
		}
	}
	for _, bad := range []string{`{a:b}`, `{a:1`, `"open`, `{a 1}`, `[1 2]`, `-`, ``} {
		if got, _, err := jsLiteralToJSON([]byte(bad)); err == nil {
			t.Errorf("%s: no error (got %s)", bad, got)
		}
	}
}
