module github.com/rekeyhq/rekey

go 1.24.0
