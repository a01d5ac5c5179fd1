package test
# exp 1..5
p if { d := numbers.range(1, 5); every x in d { x >= 1; print(x) } }
