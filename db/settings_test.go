package db

import (
	"errors"
	"testing"
)

func TestSettingsOutliveTheProcess(t *testing.T) {
	d, dir := openTemp(t)
	if v, err := d.Setting("queue"); err != nil || v != "" {
		t.Fatalf("a setting never set = %q, %v", v, err)
	}
	if err := d.SetSetting("queue", "nats://127.0.0.1:4222"); err != nil {
		t.Fatal(err)
	}
	d.Close()
	d, err := Open(dir, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	if v, err := d.Setting("queue"); err != nil || v != "nats://127.0.0.1:4222" {
		t.Fatalf("after reopening: %q, %v", v, err)
	}
	if err := d.SetSetting("queue", ""); err != nil {
		t.Fatal(err)
	}
	if v, _ := d.Setting("queue"); v != "" {
		t.Errorf("a removed setting = %q", v)
	}
	if err := d.SetSetting("", "x"); !errors.Is(err, ErrInvalid) {
		t.Errorf("a setting without a name: %v", err)
	}
	if problems, err := d.Check(ctx); err != nil || len(problems) != 0 {
		t.Errorf("CHECK DATABASE with a setting stored: %v %v", problems, err)
	}
}
