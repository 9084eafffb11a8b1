package upstream

import "testing"

// TestTrackFollows: a tracking server takes the tracked one's operational
// state and inherits its maintenance and drain, along a chain; its own
// forced state stays its own.
func TestTrackFollows(t *testing.T) {
	x := mkServers(srvSpec{name: "x", weight: 1})[0]
	f := mkFarm(t, "roundrobin", false, srvSpec{name: "y", weight: 1}, srvSpec{name: "w", weight: 1})
	y, w := f.Server("y"), f.Server("w")
	y.Track(x, "b/x")
	w.Track(y, "c/y")
	check := func(step string, op OpState, adm AdminState, usable bool) {
		t.Helper()
		for _, s := range []*Server{y, w} {
			if s.Operational() != op || s.Admin() != adm || s.Usable() != usable {
				t.Errorf("%s: %s is %v/%v usable=%v, want %v/%v %v", step, s.Name, s.Operational(), s.Admin(), s.Usable(), op, adm, usable)
			}
		}
		if got := f.Live(); usable != (got > 0) {
			t.Errorf("%s: %d live servers in the farm", step, got)
		}
	}
	check("start", OpUp, AdminReady, true)
	x.SetUp(false)
	check("x down", OpDown, AdminReady, false)
	x.SetUp(true)
	check("x up", OpUp, AdminReady, true)
	x.SetAdmin(AdminMaint)
	check("x maint", OpUp, AdminMaint, false)
	if !y.InheritedMaint() || !w.InheritedMaint() {
		t.Errorf("maintenance not marked inherited")
	}
	x.SetAdmin(AdminDrain)
	check("x drain", OpUp, AdminDrain, false)
	x.SetAdmin(AdminReady)
	check("x ready", OpUp, AdminReady, true)
	y.SetAdmin(AdminMaint)
	if y.InheritedMaint() || !w.InheritedMaint() || w.Admin() != AdminMaint {
		t.Errorf("y forced into maint: y inherited=%v, w inherited=%v", y.InheritedMaint(), w.InheritedMaint())
	}
	if y.Ref() != x || w.Ref() != x {
		t.Errorf("Ref: %s, %s", y.Ref(), w.Ref())
	}
}
