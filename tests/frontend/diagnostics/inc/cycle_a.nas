import "cycle_b.nas";
