package test
# exp: true, no prints
p if { every x in [] { print(x) } }
