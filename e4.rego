package test
# exp 1 outer 2 outer
p if { i = "outer"; every x in [1, 2] { print(x); print(i) } }
