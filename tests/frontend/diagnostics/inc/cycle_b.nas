import "cycle_a.nas";
