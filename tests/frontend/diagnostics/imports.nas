# A missing import and an import cycle.
import "prelude.nas";
import "missing_file.nas";
import "inc/cycle_a.nas";

# ---- expected diagnostics ----
#> imports.nas:3:8: error: cannot find imported file 'missing_file.nas'
#>     import "missing_file.nas";
#>            ^~~~~~~~~~~~~~~~~~
#> inc/cycle_b.nas:1:1: error: import cycle: 'cycle_a.nas' imports itself through this import
#>     import "cycle_a.nas";
#>     ^~~~~~~~~~~~~~~~~~~~~
#> 2 errors
